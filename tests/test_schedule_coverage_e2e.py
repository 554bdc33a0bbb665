"""A month of scheduled daily runs per interval, through the DAG's own steps against the simulator and MariaDB:
every candle that closed in the month is in the warehouse, exactly as served, inserted by exactly one run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import MySQLdb
import pytest

from binance_airflow.binance.hook import BinanceHook
from binance_airflow.etl import steps
from binance_airflow.warehouse.schema import create_warehouse
from binance_airflow.warehouse.tables import TABLES
from include.intervals import FIXED_MS, INTERVALS, month_start
from include.run_window import resolve
from tests.conftest import WAREHOUSE_DB, Sim, connection_uri, sim_market
from tests.dag_runs import query

pytestmark = pytest.mark.dag
MONTH, NEXT_MONTH = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def daily_run(day: datetime, interval: str, symbols: list[str], folder: Path, hook: BinanceHook) -> str:
    """The period [day, day + 1) run as the scheduler runs it, a minute after the period ends."""
    executed = day + timedelta(days=1, minutes=1)
    window = resolve({"symbols": symbols, "interval": interval}, day, day + timedelta(days=1), day, now=executed)
    run_id = f"scheduled__{interval}__{day:%Y-%m-%d}"
    steps.load_table("dim_date", steps.stage_table(TABLES["dim_date"], window, folder), run_id)
    staged = steps.transform_klines(window, folder, steps.extract_klines(window, symbols, folder, hook), ms(executed))
    steps.load_klines(staged, run_id)
    return run_id


def closed_in_month(symbol: str, interval: str) -> list[tuple]:
    """The server's candles whose close (the next open on their grid) falls in (MONTH, NEXT_MONTH]."""
    step = FIXED_MS.get(interval, 31 * 86_400_000)
    table = sim_market().klines(symbol, interval, ms(MONTH) - step, ms(NEXT_MONTH), 10**7)
    rows = []
    for i, open_ms in enumerate(table["open_time"].tolist()):
        close = month_start(open_ms, 1) if interval == "1M" else open_ms + step
        if ms(MONTH) < close <= ms(NEXT_MONTH):
            rows.append(
                (open_ms, *(Decimal(int(table[f][i])) / 10**8 for f in ("open", "high", "low", "close", "volume")))
            )
    return rows


@pytest.mark.parametrize("interval", INTERVALS)
def test_a_month_of_daily_runs_loads_every_closed_candle_exactly_once(
    warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim, tmp_path: Path, interval: str
):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, archives=True))
    create_warehouse()
    # 3d grids are per symbol (BTCUSDT's and ETHUSDT's differ); SOLUSDT lists on 2024-02-28 (1s: two days).
    symbols = {"3d": ["BTCUSDT", "ETHUSDT"], "1s": ["SOLUSDT"]}.get(interval, ["BTCUSDT"])
    hook, runs, day = BinanceHook(), [], MONTH
    first = resolve({"symbols": symbols, "interval": interval}, MONTH, MONTH + timedelta(days=1), MONTH)
    steps.extract_exchange_info(first, tmp_path, hook)
    steps.load_table("dim_symbol", steps.stage_table(TABLES["dim_symbol"], first, tmp_path), "dims")
    while day < NEXT_MONTH:
        runs.append(daily_run(day, interval, symbols, tmp_path / f"{day:%d}", hook))
        day += timedelta(days=1)
    for symbol in symbols:
        got = query(
            warehouse,
            "SELECT open_time_ms, `open`, high, low, `close`, volume FROM "
            f"{WAREHOUSE_DB}.fact_kline WHERE symbol = '{symbol}' AND `interval` = '{interval}' "
            "ORDER BY open_time",
        )
        assert got == closed_in_month(symbol, interval) and got
    counts = query(
        warehouse,
        f"SELECT SUM(inserted), SUM(updated), SUM(unchanged), SUM(rejects) FROM {WAREHOUSE_DB}."
        "etl_run_log WHERE table_name = 'fact_kline'",
    )
    total = query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline")[0][0]
    assert counts == [(total, 0, 0, 0)]  # each candle inserted once, never loaded again, none still open
