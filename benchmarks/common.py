"""Shared benchmark plumbing: arguments (and their smoke mode), the Airflow connections, a started Airflow
deployment, a fresh warehouse, checksums, peak RSS, the ETL's steps outside Airflow."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import MySQLdb

from harness.airflow_stack import AirflowStack

ROOT = Path(__file__).resolve().parents[1]
SMOKE_ENV = "BINANCE_BENCH_SMOKE"


def parse_args(parser: argparse.ArgumentParser, smoke: dict[str, Any]) -> argparse.Namespace:
    """The benchmark's arguments; with ``BINANCE_BENCH_SMOKE=1`` the ``smoke`` values replace them (a tiny
    input), so CI runs every README benchmark command exactly as written in seconds: none can silently break."""
    args = parser.parse_args()
    if os.environ.get(SMOKE_ENV) == "1":
        vars(args).update(smoke)
        print(f"{SMOKE_ENV}=1: a tiny input ({', '.join(f'{k}={v}' for k, v in smoke.items())}); figures mean nothing")
    return args


def use_connections(base_url: str | None, database: str, archives: bool = True, stream_url: str = "") -> None:
    """Point binance_default at the simulator and binance_warehouse at ``database`` on the local MariaDB.

    Each benchmark has its own database, so two benchmarks running at once cannot disturb each other.
    """
    os.environ["AIRFLOW_CONN_BINANCE_WAREHOUSE"] = json.dumps(
        {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": database}
    )
    if base_url:
        extra = {"archive_url": base_url if archives else "", "stream_url": stream_url}
        conn = {"conn_type": "http", "host": base_url, "extra": extra}
        os.environ["AIRFLOW_CONN_BINANCE_DEFAULT"] = json.dumps(conn)


@contextmanager
def airflow_deployment(metadata_db: str, workers: tuple[str, ...] = (), **env: str) -> Iterator[AirflowStack]:
    """A started Airflow deployment (harness/airflow_stack.py) on the connections ``use_connections`` set, with
    ``env`` added to its settings; stopped on the way out, SIGTERM included. Its home (logs) is removed only
    when the block ends normally."""
    home = Path(tempfile.mkdtemp(prefix="airflow-bench-"))
    connections = {k: os.environ[k] for k in ("AIRFLOW_CONN_BINANCE_DEFAULT", "AIRFLOW_CONN_BINANCE_WAREHOUSE")}
    stack = AirflowStack(home, connections, workers, metadata_db)
    stack.env |= env
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        signal.signal(signal.SIGTERM, previous)
    shutil.rmtree(home, ignore_errors=True)


def fresh_warehouse(database: str) -> None:
    """Drop and recreate ``database`` with the project's schema."""
    from binance_airflow.warehouse.schema import create_warehouse

    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", autocommit=True)
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
    conn.close()
    create_warehouse(database)


def close_checksum(database: str, table: str = "fact_kline") -> tuple[int, int]:
    """Row count and sum of close * 10^8 of ``table``: exact integers summed as DECIMAL (a DOUBLE sum of
    millions of values near 1e12 would round)."""
    conn = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=database)
    cur = conn.cursor()
    cur.execute(f"SELECT COUNT(*), SUM(CAST(ROUND(`close` * 100000000) AS DECIMAL(38, 0))) FROM {table}")
    count, total = cur.fetchone()
    conn.close()
    return int(count), int(total)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MAJORS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]


def archive_market(symbols: int, years: float) -> tuple[list[str], list[str], datetime, datetime]:
    """A market of ``symbols`` symbols (the majors, then S0005USDT…) over ``years`` of monthly archives from
    January 2018: the symbols, the months' archive labels, and [start, end) in UTC."""
    names = (MAJORS + [f"S{i:04d}USDT" for i in range(len(MAJORS), symbols)])[:symbols]
    labels = [f"{2018 + m // 12}-{m % 12 + 1:02d}" for m in range(round(years * 12))]
    end_year, end_month = divmod(len(labels), 12)
    return names, labels, datetime(2018, 1, 1, tzinfo=UTC), datetime(2018 + end_year, end_month + 1, 1, tzinfo=UTC)


def run_steps(symbols: list[str], interval: str, start_ms: int, end_ms: int) -> dict[str, float]:
    """The binance_etl DAG's steps for ``symbols`` over [start_ms, end_ms) into the connections' warehouse
    (dims, archive/REST extract, transform to staging CSVs, bulk upsert), outside Airflow; seconds per step
    and the rows loaded (``rows``)."""
    import tempfile
    import time

    from binance_airflow.binance.hook import BinanceHook
    from binance_airflow.etl import steps
    from binance_airflow.warehouse.tables import TABLES
    from include.run_window import RunWindow

    window = RunWindow(symbols, interval, start_ms, end_ms, end_ms)
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
        folder, hook = Path(tmp), BinanceHook()
        clock = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal clock
            seconds[step], clock = time.perf_counter() - clock, time.perf_counter()

        steps.extract_exchange_info(window, folder, hook)
        steps.load_table("dim_symbol", steps.stage_table(TABLES["dim_symbol"], window, folder), "bench")
        steps.load_table("dim_date", steps.stage_table(TABLES["dim_date"], window, folder), "bench")
        lap("dimensions")
        extracted = steps.extract_klines(window, symbols, folder, hook)
        lap("extract")
        staged = steps.transform_klines(window, folder, extracted, int(time.time() * 1000))
        lap("transform")
        seconds["rows"] = steps.load_klines(staged, "bench")["rows_in"]
        lap("load")
    return seconds
