"""HistoryThenDailyTimetable: catchup in years and months, then one run per day (see include/run_periods)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import DateTime

from include.run_periods import day_floor, period_end


class HistoryThenDailyTimetable(Timetable):
    """Daily runs, except that whole past years and whole past months each run once.

    A run's data interval is [start, end) at 00:00 UTC boundaries; runs follow each other without gaps.
    A backfill (``airflow backfill create --from-date F --to-date T``) tiles exactly the days a daily
    DAG would run for it, F to T inclusive, grouping into years and months only those that lie inside.
    Without catchup the next run is yesterday's, however old the last run is. A manual run's interval
    is the UTC day before it is triggered.
    """

    description = "Yearly, then monthly catchup; daily at 00:00 UTC"

    @property
    def summary(self) -> str:
        return "catchup by year/month, then @daily"

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        end = pendulum.instance(day_floor(run_after))
        return DataInterval(start=end - timedelta(days=1), end=end)

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        now = pendulum.now("UTC")
        if last_automated_data_interval is not None:
            start = last_automated_data_interval.end
        elif restriction.earliest is None:
            return None
        else:
            start = day_floor(restriction.earliest)
            start = start if start == restriction.earliest else start + timedelta(days=1)
        if not restriction.catchup:
            start = max(start, day_floor(now) - timedelta(days=1))
        limit = None
        if restriction.latest is not None:
            if start > restriction.latest:
                return None
            limit = day_floor(restriction.latest) + timedelta(days=1)  # the last day asked for, inclusive
        start = pendulum.instance(start)
        return DagRunInfo.interval(start=start, end=pendulum.instance(period_end(start, now, limit)))
