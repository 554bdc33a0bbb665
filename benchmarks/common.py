"""Shared benchmark plumbing: the simulator in its own process, the Airflow connections, an Airflow deployment,
peak RSS."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import MySQLdb

if TYPE_CHECKING:
    from tests.airflow_stack import AirflowStack

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


@contextmanager
def simulator(*args: str) -> Iterator[tuple[str, str]]:
    """``python -m include.binance_sim --port 0 ARGS`` on 127.0.0.1; yields its REST and stream URLs."""
    command = [sys.executable, "-m", "include.binance_sim", "--port", "0", *args]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline()]
    try:
        if "listening on" not in lines[0] or "streams on" not in lines[1]:
            raise RuntimeError(f"simulator did not start: {lines!r}")
        yield lines[0].rsplit(" ", 1)[-1].strip(), lines[1].rsplit(" ", 1)[-1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


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
    """A started Airflow deployment (tests/airflow_stack.py) on the connections ``use_connections`` set, with
    ``env`` added to its settings; stopped on the way out, SIGTERM included. Its home (logs) is removed only
    when the block ends normally."""
    from tests.airflow_stack import AirflowStack

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
    from binance_airflow.schema_tasks import create_warehouse

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


def run_steps(symbols: list[str], interval: str, start_ms: int, end_ms: int) -> dict[str, float]:
    """The binance_etl DAG's steps for ``symbols`` over [start_ms, end_ms) into the connections' warehouse
    (dims, archive/REST extract, transform to staging CSVs, bulk upsert), outside Airflow; seconds per step
    and the rows loaded (``rows``)."""
    import tempfile
    import time

    from binance_airflow import etl_steps as steps
    from binance_airflow.hook import BinanceHook

    plan = {"symbols": symbols, "interval": interval, "start_ms": start_ms, "end_ms": end_ms, "as_of_ms": end_ms}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
        folder, hook = Path(tmp), BinanceHook()
        clock = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal clock
            seconds[step], clock = time.perf_counter() - clock, time.perf_counter()

        steps.extract_exchange_info(plan, folder, hook)
        steps.load_table("dim_symbol", steps.transform_symbols(folder), "bench")
        steps.load_table("dim_date", steps.transform_dates(plan, folder), "bench")
        lap("dimensions")
        extracted = steps.extract_klines(plan, symbols, folder, hook)
        lap("extract")
        staged = steps.transform_klines(plan, folder, extracted, int(time.time() * 1000))
        lap("transform")
        seconds["rows"] = steps.load_klines(staged, "bench")["rows_in"]
        lap("load")
    return seconds
