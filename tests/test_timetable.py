"""The catchup calendar: years, then months, then days, tiling time exactly like daily runs."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction
from hypothesis import given, settings
from hypothesis import strategies as st

from binance_airflow.etl.timetable import HistoryThenDailyTimetable
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
    assert (first.data_interval.start, first.data_interval.end) == (
        pendulum.datetime(2018, 1, 1),
        pendulum.datetime(2019, 1, 1),
    )
    assert first.run_after == first.data_interval.end
    last = DataInterval(pendulum.datetime(2019, 1, 1), pendulum.now("UTC").start_of("day") - timedelta(days=1))
    daily = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
    assert daily.data_interval.end - daily.data_interval.start == timedelta(days=1)
    manual = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2024, 5, 2, 13))
    assert (manual.start, manual.end) == (pendulum.datetime(2024, 5, 1), pendulum.datetime(2024, 5, 2))
    no_catchup = TimeRestriction(earliest=pendulum.datetime(2018, 1, 1), latest=None, catchup=False)
    recent = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=no_catchup)
    assert recent.data_interval.start == pendulum.now("UTC").start_of("day") - timedelta(days=1)


@functools.cache
def serialized_dag() -> Any:
    """binance_etl as the scheduler and the backfill command see it (serialized, timetable from the plugin)."""
    from airflow.serialization.serialized_objects import DagSerialization

    from tests.dag_runs import load_dag

    return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(load_dag("binance_etl")))


def backfill(from_date: str, to_date: str) -> list[tuple[str, str]]:
    """The data intervals ``airflow backfill create --from-date F --to-date T`` plans, through Airflow's own code."""
    from airflow.models.backfill import _get_info_list

    infos = _get_info_list(
        from_date=pendulum.parse(from_date), to_date=pendulum.parse(to_date), reverse=False, dag=serialized_dag()
    )
    return [(f"{i.data_interval.start:%Y-%m-%d}", f"{i.data_interval.end:%Y-%m-%d}") for i in infos]


def test_a_backfill_loads_the_requested_range_not_the_whole_year():
    """--to-date is inclusive (Airflow's word): the day it names is the last one covered, as for a daily DAG."""
    assert backfill("2024-01-01", "2024-03-01") == [
        ("2024-01-01", "2024-02-01"),
        ("2024-02-01", "2024-03-01"),
        ("2024-03-01", "2024-03-02"),
    ]
    assert backfill("2019-01-01", "2021-12-31") == [
        ("2019-01-01", "2020-01-01"),
        ("2020-01-01", "2021-01-01"),
        ("2021-01-01", "2022-01-01"),
    ]
    assert backfill("2023-12-30", "2025-01-02") == [
        ("2023-12-30", "2023-12-31"),
        ("2023-12-31", "2024-01-01"),
        ("2024-01-01", "2025-01-01"),
        ("2025-01-01", "2025-01-02"),
        ("2025-01-02", "2025-01-03"),
    ]
    assert backfill("2024-02-10T06:00:00", "2024-02-12") == [("2024-02-11", "2024-02-12"), ("2024-02-12", "2024-02-13")]


@settings(max_examples=60, deadline=None)
@given(st.dates(date(2018, 1, 1), date.today() + timedelta(days=3)), st.integers(0, 900))
def test_backfill_runs_tile_exactly_the_days_asked_for(first: date, days: int):
    last = first + timedelta(days=days)
    runs = backfill(first.isoformat(), last.isoformat())
    covered = [
        date.fromisoformat(s) + timedelta(days=i)
        for s, e in runs
        for i in range((date.fromisoformat(e) - date.fromisoformat(s)).days)
    ]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    wanted = [first + timedelta(days=i) for i in range(days + 1) if first + timedelta(days=i) <= yesterday]
    assert covered == wanted  # every day once, in order, nothing outside the range
    for start, end in map(lambda run: (date.fromisoformat(run[0]), date.fromisoformat(run[1])), runs):
        whole_year = (start.month, start.day) == (1, 1) and end == start.replace(year=start.year + 1)
        whole_month = start.day == 1 and end == (start + timedelta(days=32)).replace(day=1)
        assert whole_year or whole_month or end - start == timedelta(days=1)


def test_catchup_false_resumes_from_yesterday_even_after_old_runs():
    timetable = HistoryThenDailyTimetable()
    restriction = TimeRestriction(earliest=pendulum.datetime(2018, 1, 1), latest=None, catchup=False)
    old = DataInterval(pendulum.datetime(2020, 3, 1), pendulum.datetime(2020, 3, 2))
    nxt = timetable.next_dagrun_info(last_automated_data_interval=old, restriction=restriction)
    yesterday = pendulum.now("UTC").start_of("day") - timedelta(days=1)
    assert (nxt.data_interval.start, nxt.data_interval.end) == (yesterday, yesterday + timedelta(days=1))
