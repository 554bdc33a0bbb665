"""Data-quality gates, notifications and Assets in whole dag.test() runs against the simulator and MariaDB."""

from __future__ import annotations

from datetime import timedelta

import MySQLdb
import pytest

from binance_airflow.warehouse.tables import SCHEMA_FILES
from include.sql_files import sql
from tests.conftest import WAREHOUSE_DB, Sim
from tests.dag_runs import DAY, asset_events, failures, load_dag, query, summary, task_states, task_tries, whole_run

pytestmark = pytest.mark.dag
END = DAY + timedelta(days=2)  # recent enough for the ticker and balance snapshots
START = END - timedelta(hours=6)
CHECKS = ["check_dim_date", "check_fact_balance", "check_fact_kline", "check_fact_ticker_24hr"]


def test_each_gate_reads_the_runs_rows_in_one_scan():
    """A market backfill's gate covers millions of candles: every check of a table comes from one read of them,
    not one read per check (seven range scans of fact_kline before)."""
    dag = load_dag("binance_etl")
    gates = [task for task in dag.tasks if task.task_id.startswith("check_")]
    assert sorted(task.task_id for task in gates) == CHECKS
    for gate in gates:
        assert gate.sql.count(f"FROM {gate.table} ") == 1, gate.sql
    assert len(dag.get_task("check_fact_kline").checks) == 9


def test_a_clean_run_passes_every_gate_and_each_load_emits_its_asset(
    airflow_db: None,
    warehouse: MySQLdb.Connection,
    webhook: list[dict],
    binance_conn: Sim,
    capfd: pytest.CaptureFixture,
):
    run = whole_run(START, END, ["BTCUSDT", "ETHUSDT"])
    assert run.state == "success"
    out, err = capfd.readouterr()
    assert [line for line in (out + err).splitlines() if "[error" in line] == []  # no error-level noise
    states = task_states(run.run_id)
    assert {task: states[task] for task in CHECKS} == dict.fromkeys(CHECKS, "success")
    assert asset_events(run.run_id) == [
        f"binance_warehouse.{table}"
        for table in ("dim_account", "dim_date", "dim_symbol", "fact_balance", "fact_kline", "fact_ticker_24hr")
    ]
    assert failures(webhook) == {}
    assert summary(webhook)["status"] == "success"


def test_a_null_price_and_a_stray_candle_fail_the_gate_naming_each_check(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim
):
    """A legacy fact_kline with a nullable close holds a row the exchange never served, inside the window."""
    cur = warehouse.cursor()
    cur.execute(f"CREATE DATABASE {WAREHOUSE_DB}")
    cur.execute(f"USE {WAREHOUSE_DB}")
    for name in SCHEMA_FILES:
        cur.execute(sql(name))
    cur.execute("ALTER TABLE fact_kline MODIFY `close` DECIMAL(36,8) NULL")
    stray = START + timedelta(minutes=30)
    cur.execute("SET FOREIGN_KEY_CHECKS = 0")
    cur.execute(
        "INSERT INTO fact_kline (symbol, `interval`, open_time, open_time_ms, date_key, `open`, high, low, `close`, "
        "volume, close_time) VALUES ('BTCUSDT', '1h', %s, %s, 0, 10, 9, 11, NULL, 1, %s)",
        (stray.replace(tzinfo=None), int(stray.timestamp() * 1000), stray.replace(tzinfo=None)),
    )
    warehouse.commit()

    run = whole_run(START, END, ["BTCUSDT"])
    assert run.state == "failed"
    errors = failures(webhook)
    assert list(errors) == ["check_fact_kline"]
    assert errors["check_fact_kline"].startswith(
        "fact_kline failed high_ge_low, rows_match_extracted, close_not_null on this run's rows"
    )
    assert summary(webhook)["failed_tasks"] == ["check_fact_kline"]
    assert task_tries(run.run_id)["check_fact_kline"] == 1  # a failed check is not retried: the data stays as found


def test_summaries_that_differ_from_the_candles_fail_the_gate_by_name(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim
):
    """A coverage row edited behind the writers' backs: the next run over those days recomputes the days, and
    its gate still finds the series' coverage off and fails naming the check."""
    assert whole_run(START, END, ["BTCUSDT"]).state == "success"
    query(warehouse, f"UPDATE {WAREHOUSE_DB}.agg_kline_series SET candles = candles + 5 WHERE symbol = 'BTCUSDT'")
    warehouse.commit()
    run = whole_run(START, END, ["BTCUSDT"])
    assert run.state == "failed"
    assert failures(webhook)["check_fact_kline"].startswith(
        "fact_kline failed summaries_match_candles on this run's rows"
    )


def test_a_gate_is_retried_when_the_warehouse_cannot_be_reached_but_never_when_its_check_fails():
    """A gate that loses the database (MariaDB restarting) must not fail the run: only a failed check does."""
    dag = load_dag("binance_etl")
    for task_id in CHECKS:
        gate = dag.get_task(task_id)
        assert gate.retries >= 1 and not gate.retry_on_failure, task_id
