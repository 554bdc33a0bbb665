"""The catchup calendar: years, then months, then days, tiling time exactly like daily runs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from binance_airflow.timetable import HistoryThenDailyTimetable
from include.run_periods import period_end


def runs(start: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """The run intervals from ``start`` whose end has passed ``now`` (what catchup creates)."""
    periods = []
    while (end := period_end(start, now)) <= now:
        periods.append((start, end))
        start = end
    return periods


def test_eight_years_of_catchup_take_dozens_of_runs_not_thousands():
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    periods = runs(datetime(2018, 1, 1, tzinfo=UTC), now)
    assert [p[0].year for p in periods[:8]] == list(range(2018, 2026))
    assert all(p[1] == p[0].replace(year=p[0].year + 1) for p in periods[:8])  # whole years
    assert [p[0].month for p in periods[8:18]] == list(range(1, 11))  # whole months of 2026 up to October
    assert [p[0].day for p in periods[18:]] == list(range(1, 25))  # then days of November
    assert len(periods) == 42


@pytest.mark.parametrize("now", ["2026-11-25T08:00", "2027-01-01T00:00", "2024-03-01T00:00", "2025-12-31T23:59"])
def test_runs_tile_time_exactly_like_daily_runs(now: str):
    moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
    start = datetime(2023, 12, 30, tzinfo=UTC)
    periods = runs(start, moment)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(periods))
    days = {start + timedelta(days=i) for i in range((periods[-1][1] - start).days)}
    covered = {s + timedelta(days=i) for s, e in periods for i in range((e - s).days)}
    assert covered == days
    assert periods[-1][1] == moment.replace(hour=0, minute=0, second=0, microsecond=0)  # up to today


def test_the_airflow_timetable_follows_the_calendar():
    timetable = HistoryThenDailyTimetable()
    restriction = TimeRestriction(earliest=pendulum.datetime(2018, 1, 1), latest=None, catchup=True)
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert (first.data_interval.start, first.data_interval.end) == (pendulum.datetime(2018, 1, 1),
                                                                    pendulum.datetime(2019, 1, 1))  # fmt: skip
    assert first.run_after == first.data_interval.end
    last = DataInterval(pendulum.datetime(2019, 1, 1), pendulum.now("UTC").start_of("day") - timedelta(days=1))
    daily = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
    assert daily.data_interval.end - daily.data_interval.start == timedelta(days=1)
    manual = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2024, 5, 2, 13))
    assert (manual.start, manual.end) == (pendulum.datetime(2024, 5, 1), pendulum.datetime(2024, 5, 2))
    no_catchup = TimeRestriction(earliest=pendulum.datetime(2018, 1, 1), latest=None, catchup=False)
    recent = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=no_catchup)
    assert recent.data_interval.start == pendulum.now("UTC").start_of("day") - timedelta(days=1)
