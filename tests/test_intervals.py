"""Interval maths on the UTC grid."""

from datetime import UTC, datetime

import pytest

from include.intervals import floor_open, is_aligned, next_open, to_ms, validate_interval


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
