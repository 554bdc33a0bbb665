"""Helpers for tests that run the whole DAG: one dag.test() run, the server's candles, warehouse queries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import MySQLdb

from include.binance_sim.payloads import klines_json
from tests.conftest import ROOT, WAREHOUSE_DB, sim_market

DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)


def query(conn: MySQLdb.Connection, sql: str) -> list[tuple]:
    conn.commit()
    cur = conn.cursor()
    cur.execute(sql)
    return list(cur.fetchall())


def load_dag(dag_id: str) -> Any:
    """A DAG of this project as the dag processor parses it from dags/."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags[dag_id]


def whole_run(start: datetime, end: datetime, symbols: list[str], interval: str = "1h") -> Any:
    """One whole dag.test() run of binance_etl over [start, end); returns its DagRun."""
    dag = load_dag("binance_etl")
    conf = {"symbols": symbols, "interval": interval, "start": start.isoformat(), "end": end.isoformat()}
    return dag.test(run_conf=conf, logical_date=end)


def scheduled_run(period_end: datetime, symbols: list[str], interval: str) -> Any:
    """One whole dag.test() run whose data interval is the UTC day before ``period_end``, as a daily run has."""
    return load_dag("binance_etl").test(run_conf={"symbols": symbols, "interval": interval}, logical_date=period_end)


def run_dag(start: datetime, end: datetime, symbols: list[str], interval: str = "1h") -> str:
    """The state of one whole run over [start, end)."""
    return whole_run(start, end, symbols, interval).state


def _per_task(run_id: str, column: str) -> dict[str, Any]:
    """Task id → one TaskInstance column of one run (mapped tasks: the value of their last map index)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        query = session.query(TaskInstance.task_id, getattr(TaskInstance, column))
        return dict(query.filter(TaskInstance.run_id == run_id))


def task_states(run_id: str) -> dict[str, str]:
    """Task id → state of one run (mapped tasks: the state of their last map index)."""
    return {task_id: str(state) for task_id, state in _per_task(run_id, "state").items()}


def task_tries(run_id: str) -> dict[str, int]:
    """Task id → how many tries it took in one run."""
    return _per_task(run_id, "try_number")


def asset_events(run_id: str) -> list[str]:
    """Names of the assets one run updated, sorted."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(AssetModel.name).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
        return sorted(name for (name,) in rows.filter(AssetEvent.source_run_id == run_id))


def expected(symbol: str, interval: str, start: datetime, end: datetime) -> list[list]:
    market = sim_market()
    table = market.klines(symbol, interval, int(start.timestamp() * 1000), int(end.timestamp() * 1000) - 1, 10**7)
    return json.loads(klines_json(table))


def assert_exact_candles(conn: MySQLdb.Connection, symbol: str, interval: str, start: datetime, end: datetime) -> int:
    """The warehouse holds exactly the server's candles of ``symbol`` in [start, end) (all prices and volume)."""
    want = [(k[0], *(Decimal(v) for v in k[1:6])) for k in expected(symbol, interval, start, end)]
    got = query(
        conn,
        "SELECT open_time_ms, `open`, high, low, `close`, volume FROM "
        f"{WAREHOUSE_DB}.fact_kline WHERE symbol = '{symbol}' AND `interval` = '{interval}' "
        "ORDER BY open_time",
    )
    assert got == want
    assert_summaries_exact(conn)
    return len(got)


def assert_summaries_exact(conn: MySQLdb.Connection, database: str = WAREHOUSE_DB) -> None:
    """Every series' daily summaries and coverage equal its candles (the binance_etl gate's SQL, over all days)."""
    from binance_airflow.warehouse import summaries

    conn.commit()
    cur = conn.cursor()
    cur.execute(f"USE {database}")
    cur.execute(
        "SELECT `interval`, GROUP_CONCAT(DISTINCT symbol), DATE(MIN(open_time)), DATE(MAX(open_time)) + INTERVAL 1 DAY "
        "FROM fact_kline GROUP BY `interval`"
    )
    for interval, symbols, first, end in cur.fetchall():
        cur.execute(f"SELECT {summaries.drift(symbols.split(','), interval, first, end)}")
        assert cur.fetchone()[0] == 0, f"{interval}: summaries differ from the candles"
    cur.execute("SELECT COUNT(*) FROM agg_kline_series")
    series = cur.fetchone()[0]
    cur.execute("SELECT COUNT(*) FROM (SELECT DISTINCT symbol, `interval` FROM fact_kline) AS held")
    assert cur.fetchone()[0] == series


def failures(webhook: list[dict]) -> dict[str, str]:
    """task id → error of every task_failed notification received."""
    return {body["task_id"]: body["error"] for body in webhook if body["event"] == "task_failed"}


def summary(webhook: list[dict]) -> dict:
    """The one run_summary notification received."""
    (report,) = [body for body in webhook if body["event"] == "run_summary"]
    return report
