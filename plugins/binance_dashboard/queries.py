"""What the dashboard shows, read from the warehouse with the SQL in include/sql/dashboard/."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from binance_airflow.warehouse.connection import reader_hook
from include.sql_files import sql

CANDLE_LIMIT = 5000


def _plain(value: Any) -> Any:
    """JSON-ready: DECIMAL → float, DATETIME → ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
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


def candles(symbol: str, interval: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The newest ``CANDLE_LIMIT`` candles of the range, oldest first; ``truncated`` when there were more."""
    rows = _records(
        "candles", {"symbol": symbol, "interval": interval, "start": start, "end": end, "limit": CANDLE_LIMIT + 1}
    )
    return {"candles": rows[:CANDLE_LIMIT][::-1], "truncated": len(rows) > CANDLE_LIMIT}


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
