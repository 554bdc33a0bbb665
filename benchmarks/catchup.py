"""Catchup with the real scheduler: binance_etl from 2018-01-01 (``--start``) to today, 5 symbols at 1h.

Usage: .venv/bin/pip install -r requirements-bench.txt && .venv/bin/python -m benchmarks.catchup
Starts the simulator (50 ms added latency, archives served), a fresh PostgreSQL metadata database
(``airflow_bench`` on 127.0.0.1:5432), and Airflow's api-server, scheduler (LocalExecutor) and
dag-processor on loopback; unpauses nothing by hand (DAGs start unpaused) and waits until every run the
timetable owes up to now has finished. Prints wall time, runs, task instances executed, rows loaded,
and the peak resident memory of the whole process tree.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import MySQLdb
import psutil
import psycopg2

from benchmarks.common import ROOT, fresh_warehouse, parse_args, use_connections
from harness.simulator import simulator
from include.run_periods import period_end

METADATA_DB = "airflow_bench"
SYMBOLS = "BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT,XRPUSDT"

BENCH_DB = "binance_bench_catchup"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_metadata_db() -> str:
    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {METADATA_DB} WITH (FORCE)")
    conn.cursor().execute(f"CREATE DATABASE {METADATA_DB}")
    conn.close()
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{METADATA_DB}"


def owed_runs(start: datetime, now: datetime) -> int:
    """How many runs the timetable creates from ``start`` whose interval has ended by ``now``."""
    count = 0
    while (end := period_end(start, now)) <= now:
        start, count = end, count + 1
    return count


def run_states() -> dict[str, int]:
    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=METADATA_DB)
    cur = conn.cursor()
    try:
        cur.execute("SELECT state, COUNT(*) FROM dag_run WHERE dag_id = 'binance_etl' GROUP BY state")
        return dict(cur.fetchall())
    except psycopg2.errors.UndefinedTable:
        return {}
    finally:
        conn.close()


def scalar(sql: str, postgres: bool) -> int:
    if postgres:
        conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=METADATA_DB)
    else:
        conn = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=BENCH_DB)
    cur = conn.cursor()
    cur.execute(sql)
    value = cur.fetchone()[0]
    conn.close()
    return int(value)


def stop(components: list[subprocess.Popen]) -> None:
    """SIGTERM each component's process group (its workers too), then SIGKILL what is left after 30 s."""
    for process in components:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for process in components:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def tree_rss_mb(root: psutil.Process) -> float:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--timeout-minutes", type=float, default=90)
    parser.add_argument("--start", default="2018-01-01", help="the DAG's start date (UTC day): catchup from here")
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d")
    args = parse_args(parser, {"start": two_days_ago})
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    home = Path(tempfile.mkdtemp(prefix="airflow-catchup-"))
    sim_args = ("--symbols", SYMBOLS, "--start", "2018-01-01", "--latency-ms", str(args.latency_ms))
    with simulator(*sim_args) as (base, _):
        use_connections(base, BENCH_DB, archives=True)
        fresh_warehouse(BENCH_DB)
        port = free_port()
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": fresh_metadata_db(),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": "catchup-benchmark-secret",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "BINANCE_ETL_STAGING_ROOT": str(home / "staging"),
            "BINANCE_ETL_START_DATE": args.start,
            "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}",
        }
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        now = datetime.now(UTC)
        owed = owed_runs(start, now)
        me = psutil.Process()
        started = time.monotonic()
        components = [
            subprocess.Popen([airflow, *command], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            for command, log in (
                (["api-server", "--host", "127.0.0.1", "--port", str(port)], (home / "api.log").open("w")),
                (["dag-processor"], (home / "dag-processor.log").open("w")),
                (["scheduler"], (home / "scheduler.log").open("w")),
            )
        ]
        peak, states = 0.0, {}
        try:
            while time.monotonic() - started < args.timeout_minutes * 60:
                time.sleep(5)
                peak = max(peak, tree_rss_mb(me))
                states = run_states()
                finished = states.get("success", 0) + states.get("failed", 0)
                print(f"\r{time.monotonic() - started:7.0f} s  runs {states}  of {owed} owed", end="", flush=True)
                if finished >= owed:
                    break
        finally:
            stop(components)
        wall = time.monotonic() - started
        print()
        print(f"wall time {wall / 60:.1f} min for {owed} runs owed from {args.start} to {now:%Y-%m-%d}: {states}")
        executed = scalar("SELECT COUNT(*) FROM task_instance WHERE dag_id = 'binance_etl' AND state IS NOT NULL", True)
        print(f"task instances executed: {executed}")
        print(
            f"rows loaded: fact_kline {scalar('SELECT COUNT(*) FROM fact_kline', False):,}; "
            f"peak RSS of the process tree {peak:,.0f} MB; parallelism {args.parallelism}, "
            f"{args.latency_ms:.0f} ms latency"
        )
    if states.get("success", 0) != owed:
        raise SystemExit(f"not every owed run succeeded: {states} of {owed}; logs in {home}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
