"""Klines: typed parsing of Binance's 12-element arrays, validation, dedupe on the natural key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from include.intervals import is_aligned
from include.validation import InvalidValue

COLUMNS = (
    "symbol",
    "interval",
    "open_time",
    "open_time_ms",
    "date_key",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "source",
)
ARRAY_FIELDS = ("open_time", *COLUMNS[5:15])  # Binance's kline array, position by position, as COLUMNS names them
API_SOURCE = "binance_api"
REJECT_COLUMNS = ("symbol", "interval", "open_time_ms", "reason", "raw")


@dataclass
class KlineBatch:
    """Valid rows (in ``COLUMNS`` order) and rejects (in ``REJECT_COLUMNS`` order) of one symbol."""

    rows: list[tuple[Any, ...]]
    rejects: list[tuple[Any, ...]]
    duplicates: int = 0


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def sql_datetime(ms: int) -> str:
    """``YYYY-MM-DD HH:MM:SS.fff`` in UTC, as MySQL DATETIME(3) reads it."""
    return utc(ms).strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def date_key(ms: int) -> int:
    """Hour-grain key of dim_date: YYYYMMDDHH."""
    return int(utc(ms).strftime("%Y%m%d%H"))


# The warehouse keeps prices and volumes as DECIMAL(36,8): 28 digits before the point, 8 after.
SCALE, INTEGER_DIGITS = 8, 28


def exact_decimal(value: Any, name: str, scale: int = SCALE, integer_digits: int = INTEGER_DIGITS) -> Decimal:
    """``value`` as an exact Decimal that the warehouse stores without rounding; ValueError says why not.

    Prices and volumes are DECIMAL(36,8) (``scale`` 8, 28 ``integer_digits``); MariaDB would silently
    round a ninth decimal place, so such a value is refused with its row instead.
    """
    if not isinstance(value, str | int):
        problem = f"is {type(value).__name__}, expected a decimal string"
        raise InvalidValue(f"{name} {problem}", f"{name} {problem}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidValue(f"{name} {value!r} is not a decimal", f"{name} is not a decimal") from None
    if not number.is_finite():
        raise InvalidValue(f"{name} {value!r} is not finite", f"{name} is not finite")
    stored = f"(the warehouse stores DECIMAL({integer_digits + scale},{scale}))"
    if number and number.adjusted() >= integer_digits:
        problem = f"has more than {integer_digits} digits before the decimal point {stored}"
        raise InvalidValue(f"{name} {value} {problem}", f"{name} {problem}")
    if number != number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_DOWN):
        problem = f"has more than {scale} decimal places {stored}"
        raise InvalidValue(f"{name} {value} {problem}", f"{name} {problem}")
    return number


MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last time a DATETIME holds


def _timestamp_ms(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{name} {value!r} is not an integer timestamp", f"{name} is not an integer timestamp")
    ms = value // 1000 if value >= 10**14 else value  # microsecond timestamps (16 digits)
    if not 0 <= ms <= MAX_MS:
        raise InvalidValue(f"{name} {value} is not between 1970 and 9999", f"{name} is not between 1970 and 9999")
    return ms


def parse_kline(raw: list[Any], symbol: str, interval: str, source: str = API_SOURCE) -> tuple[Any, ...]:
    """One kline array → a row in ``COLUMNS`` order; ValueError says what is wrong with it.

    Quote volume, trades and taker volumes may be None (files that only carry OHLCV): stored as NULL.
    """
    if not isinstance(raw, list) or len(raw) < 11:
        problem = f"expected a 12-element kline array, got {type(raw).__name__} of {len(raw or [])}"
        raise InvalidValue(problem, problem)
    open_ms, close_ms = _timestamp_ms(raw[0], "open time"), _timestamp_ms(raw[6], "close time")
    o, h, low, c, v = (
        exact_decimal(raw[i], n) for i, n in ((1, "open"), (2, "high"), (3, "low"), (4, "close"), (5, "volume"))
    )
    qv, tb, tq = (
        Decimal(0) if raw[i] is None else exact_decimal(raw[i], n)
        for i, n in ((7, "quote volume"), (9, "taker base"), (10, "taker quote"))
    )
    trades = raw[8]
    if trades is not None and (isinstance(trades, bool) or not isinstance(trades, int) or trades < 0):
        problem = "is not a non-negative integer"
        raise InvalidValue(f"number of trades {trades!r} {problem}", f"number of trades {problem}")
    if min(o, h, low, c) <= 0:
        raise InvalidValue("prices must be positive", "prices must be positive")
    if h < max(o, c) or h < low:
        raise InvalidValue(f"high {raw[2]} is below open/close/low", "high is below open/close/low")
    if low > min(o, c):
        raise InvalidValue(f"low {raw[3]} is above open/close", "low is above open/close")
    if min(v, qv, tb, tq) < 0:
        raise InvalidValue("volumes must not be negative", "volumes must not be negative")
    if close_ms < open_ms:
        raise InvalidValue(f"close time {close_ms} is before open time {open_ms}", "close time is before open time")
    if interval != "3d" and not is_aligned(open_ms, interval):  # 3d grids are per symbol on Binance
        problem = f"is not aligned to {interval}"
        raise InvalidValue(f"open time {sql_datetime(open_ms)} {problem}", f"open time {problem}")
    return kline_row(raw, symbol, interval, source)


def kline_row(raw: list[Any], symbol: str, interval: str, source: str = API_SOURCE) -> tuple[Any, ...]:
    """The row of a kline array in ``COLUMNS`` order, unchecked (``parse_kline`` checks it first)."""
    open_ms, close_ms = _timestamp_ms(raw[0], "open time"), _timestamp_ms(raw[6], "close time")
    return (
        symbol,
        interval,
        sql_datetime(open_ms),
        open_ms,
        date_key(open_ms),
        raw[1],
        raw[2],
        raw[3],
        raw[4],
        raw[5],
        sql_datetime(close_ms),
        raw[7],
        raw[8],
        raw[9],
        raw[10],
        source,
    )


def transform_klines(
    raw_rows: Iterable[list[Any]], symbol: str, interval: str, now_ms: int, source: str = API_SOURCE
) -> KlineBatch:
    """Parse, validate and dedupe (last wins) one symbol's klines; nothing is dropped silently.

    A candle whose close time is not yet past ``now_ms`` is still open: it is rejected as
    "still open" rather than stored as final (a later run loads it once it has closed).
    """
    by_open: dict[int, tuple[Any, ...]] = {}
    rejects: list[tuple[Any, ...]] = []
    seen = 0
    for raw in raw_rows:
        seen += 1
        row, reject = row_or_reject(raw, symbol, interval, now_ms, source)
        if row is None:
            rejects.append(reject)
        else:
            by_open[row[3]] = row
    rows = [by_open[k] for k in sorted(by_open)]
    return KlineBatch(rows, rejects, duplicates=seen - len(rejects) - len(rows))


def row_or_reject(
    raw: Any, symbol: str, interval: str, now_ms: int, source: str = API_SOURCE
) -> tuple[tuple[Any, ...], None] | tuple[None, tuple[Any, ...]]:
    """One raw kline → ``(row, None)`` when valid and closed by ``now_ms``, else ``(None, reject)``."""
    open_ms = raw[0] if isinstance(raw, list) and raw and isinstance(raw[0], int) else None
    try:
        row = parse_kline(raw, symbol, interval, source)
    except ValueError as err:
        return None, (symbol, interval, open_ms, str(err), repr(raw)[:500])
    if _timestamp_ms(raw[6], "close time") >= now_ms:
        return None, (symbol, interval, row[3], "candle still open", repr(raw)[:500])
    return row, None
