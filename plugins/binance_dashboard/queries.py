"""What the dashboard shows, read from the warehouse with the SQL in include/sql/dashboard/."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from binance_airflow.warehouse.connection import reader_hook
from include.intervals import DAY_MS, FIXED_MS
from include.sql_files import sql

CANDLE_LIMIT = 5000  # candles a chart draws at most
SCAN_LIMIT = 100_000  # candles merged into coarser ones on the fly at most; a longer range reads the daily summary
MERGED = ("3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h")  # coarser candles made on the fly
MONTH_MS = 31 * DAY_MS


def _plain(value: Any) -> Any:
    """JSON-ready: DECIMAL → float, DATE and DATETIME → ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _records(name: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with reader_hook().get_conn() as conn:
        cursor = conn.cursor()
        cursor.execute(sql(f"dashboard/{name}.sql"), parameters)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, map(_plain, row), strict=True)) for row in cursor.fetchall()]


def series() -> list[dict[str, Any]]:
    return _records("series")


def resolution(interval: str, start: datetime, end: datetime, limit: int = CANDLE_LIMIT) -> str:
    """The candles a chart of [start, end) draws: the stored ``interval`` when the range holds at most ``limit`` of
    them, else the finest of ``MERGED`` that fits, made from at most ``SCAN_LIMIT`` stored candles, else ``1d``
    from the daily summary. Decided from the range alone, whatever the table holds."""
    span_ms = (end - start).total_seconds() * 1000
    stored_ms = FIXED_MS.get(interval, MONTH_MS)
    if span_ms / stored_ms <= limit:
        return interval
    if span_ms / stored_ms <= SCAN_LIMIT:
        for merged in MERGED:
            if FIXED_MS[merged] > stored_ms and span_ms / FIXED_MS[merged] <= limit:
                return merged
    return "1d"


def candles(symbol: str, interval: str, start: datetime, end: datetime, limit: int = CANDLE_LIMIT) -> dict[str, Any]:
    """The candles of [start, end) at ``resolution``, oldest first; ``truncated`` when the range holds more daily
    candles than ``limit`` (the newest are drawn)."""
    drawn_as = resolution(interval, start, end, limit)
    where = {"symbol": symbol, "interval": interval, "start": start, "end": end, "limit": limit + 1}
    if drawn_as == interval:
        rows = _records("candles", where)[::-1]
    elif drawn_as == "1d":
        days = {"start": start.date(), "end": day_after(end)}
        rows = _records("daily_candles", {**where, **days})[::-1]
    else:
        rows = _records("buckets", {**where, "bucket_ms": FIXED_MS[drawn_as]})
    truncated = len(rows) > limit
    return {"candles": rows[-limit:], "resolution": drawn_as, "truncated": truncated}


def day_after(moment: datetime) -> date:
    """The first UTC day starting at or after ``moment`` (a range's end, exclusive)."""
    day = moment.date()
    return day if moment == datetime.combine(day, datetime.min.time()) else day + timedelta(days=1)


def range_summary(symbols: list[str], interval: str, start: date, end: date) -> dict[str, Any]:
    """The report's cards over the days [start, end): per symbol and in total (volume, trades), from the daily
    summary, with each symbol's close now and 30/365 days ago."""
    where = {"symbols": tuple(symbols), "interval": interval, "start": start, "end": end}
    per_symbol = _records("range_summary", where)
    totalled = ("volume", "quote_volume", "trades", "candles")
    total = {name: sum(row[name] or 0 for row in per_symbol) for name in totalled}
    return {"per_symbol": per_symbol, "total": total, "changes": _records("price_change", where)}


def top_worst(interval: str, limit: int = 5) -> list[dict[str, Any]]:
    """The current series of ``interval``: the ``limit`` best and worst over 30 and 365 days."""
    return _records("top_worst", {"interval": interval, "limit": limit})


def movers() -> list[dict[str, Any]]:
    return _records("movers")


def accounts(default_connection: str) -> list[dict[str, Any]]:
    """Every account with its connection (``default_connection`` for an account imported without one)."""
    return _records("accounts", {"default_connection": default_connection})


def portfolio(accounts: list[str]) -> list[dict[str, Any]]:
    """Value per account and snapshot of ``accounts`` (at least one)."""
    return _records("portfolio", {"accounts": tuple(accounts)})


def forecast(symbol: str) -> list[dict[str, Any]]:
    """The latest forecast of ``symbol`` (24 hourly rows with 80 % and 95 % bounds)."""
    return _records("forecast", {"symbol": symbol})
