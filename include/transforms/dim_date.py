"""dim_date rows at hour grain."""

from __future__ import annotations

from typing import Any

from include.intervals import HOUR_MS
from include.run_window import RunWindow
from include.transforms.klines import date_key, utc

COLUMNS = ("date_key", "datetime_utc", "date", "year", "quarter", "month", "day", "hour", "weekday")


def hours(start_ms: int, end_ms: int) -> list[tuple[Any, ...]]:
    """One row per UTC hour that overlaps [start_ms, end_ms)."""
    rows = []
    hour = start_ms - start_ms % HOUR_MS
    while hour < end_ms:
        dt = utc(hour)
        rows.append(
            (
                date_key(hour),
                dt.strftime("%Y-%m-%d %H:%M:%S"),
                dt.date().isoformat(),
                dt.year,
                (dt.month - 1) // 3 + 1,
                dt.month,
                dt.day,
                dt.hour,
                dt.strftime("%A"),
            )
        )
        hour += HOUR_MS
    return rows


def stage(_raw: None, window: RunWindow) -> list[tuple[Any, ...]]:
    """The registry's transform of dim_date: the hours of the run's window."""
    return hours(window.start_ms, window.end_ms)
