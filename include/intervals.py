"""Binance kline intervals: validation and UTC calendar maths on millisecond timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from include.validation import InvalidValue

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# 1970-01-01 was a Thursday; Binance's weekly candles open on Monday 00:00 UTC.
_WEEK_ORIGIN_MS = 4 * DAY_MS

FIXED_MS: dict[str, int] = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": 7 * DAY_MS,
}
INTERVALS: tuple[str, ...] = (*FIXED_MS, "1M")


def validate_interval(interval: str) -> str:
    """Return ``interval`` unchanged, or raise ValueError naming it and the valid choices."""
    if interval not in INTERVALS:
        choices = f"valid intervals: {', '.join(INTERVALS)}"
        raise InvalidValue(f"unknown kline interval {interval!r}; {choices}", f"unknown kline interval; {choices}")
    return interval


def month_start(ms: int, add_months: int = 0) -> int:
    """00:00 UTC on the 1st of the month containing ``ms``, shifted by ``add_months``."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    months = dt.year * 12 + dt.month - 1 + add_months
    return int(datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC).timestamp() * 1000)


def floor_open(ms: int, interval: str) -> int:
    """Open time of the ``interval`` candle that contains ``ms``."""
    if interval == "1M":
        return month_start(ms)
    step = FIXED_MS[validate_interval(interval)]
    origin = _WEEK_ORIGIN_MS if interval == "1w" else 0
    return (ms - origin) // step * step + origin


def next_open(open_ms: int, interval: str) -> int:
    """Open time of the candle that follows the one opening at ``open_ms``."""
    if interval == "1M":
        return month_start(open_ms, 1)
    return open_ms + FIXED_MS[validate_interval(interval)]


# Binance documents neither how 3d nor how 1w candles are aligned (3d grids are per symbol in practice), so
# for these the windows below work for any phase of the grid.
UNANCHORED = frozenset({"3d", "1w"})


def closed_bound(ms: int, interval: str) -> int:
    """Exclusive upper bound on the open times of the candles that have closed by ``ms``.

    A candle closes when the next one opens. Candles that close in (a, b] are exactly those opening in
    [closed_bound(a), closed_bound(b)). On grids of unknown phase the bound is ``ms - step + 1``.
    """
    if interval in UNANCHORED:
        return ms - FIXED_MS[interval] + 1
    return floor_open(ms, interval)


def is_aligned(ms: int, interval: str) -> bool:
    """True when ``ms`` is a candle open time on the UTC grid of ``interval``."""
    return floor_open(ms, interval) == ms


def to_ms(value: datetime | int) -> int:
    """Milliseconds since the epoch for an aware datetime or an int already in ms."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware (UTC) datetime")
        return int(value.timestamp() * 1000)
    return int(value)
