"""Interval maths on the UTC grid."""

import re
from datetime import UTC, datetime

import pytest

from include import settings
from include.intervals import FIXED_MS, INTERVALS, floor_open, is_aligned, next_open, to_ms, validate_interval


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_weeks_open_on_monday_and_months_on_the_first():
    assert floor_open(ms(2024, 5, 16, 13), "1w") == ms(2024, 5, 13)
    assert floor_open(ms(2024, 2, 29, 23, 59), "1M") == ms(2024, 2, 1)
    assert next_open(ms(2024, 12, 1), "1M") == ms(2025, 1, 1)
    assert next_open(ms(2024, 5, 13), "1w") == ms(2024, 5, 20)


def test_alignment():
    assert is_aligned(ms(2024, 5, 1, 4), "4h")
    assert not is_aligned(ms(2024, 5, 1, 5), "4h")


def test_validation_names_the_bad_value():
    assert validate_interval("1M") == "1M"
    with pytest.raises(ValueError, match=r"'1Y'.*1s, 1m"):
        validate_interval("1Y")
    with pytest.raises(ValueError, match="naive datetime"):
        to_ms(datetime(2024, 1, 1))


def test_the_coverage_views_grid_is_the_one_the_pipeline_uses():
    """v_kline_coverage counts a series' expected candles in SQL: its seconds per interval are these, every
    interval is there, and the month is counted by calendar."""
    sql = (settings.SQL_DIR / "views" / "v_kline_coverage.sql").read_text()
    seconds = {name: int(value) for name, value in re.findall(r"WHEN '(\w+)' THEN (\d+)", sql)}
    assert seconds == {name: ms // 1000 for name, ms in FIXED_MS.items()}
    assert "WHEN '1M' THEN TIMESTAMPDIFF(MONTH" in sql and set(INTERVALS) == {*seconds, "1M"}
