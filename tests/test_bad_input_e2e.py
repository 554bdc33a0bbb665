"""Bad trigger params fail the run at once with a message naming the problem, and harm nothing loaded."""

from __future__ import annotations

import json
from datetime import timedelta

import MySQLdb
import pytest

from tests.conftest import WAREHOUSE_DB, Sim
from tests.dag_runs import DAY, load_dag, query, run_dag, summary

pytestmark = pytest.mark.dag

BAD = {
    "start after end": ({"start": "2024-05-03", "end": "2024-05-01"}, "not before end"),
    "unparseable date": ({"start": "last tuesday", "end": "2024-05-01"}, "'last tuesday' is not an ISO date"),
    "only one bound": ({"start": "2024-05-01"}, "'start' and 'end' go together"),
    "symbol with SQL in it": ({"symbols": ["BTCUSDT'; DROP TABLE fact_kline; --"]}, "invalid symbol"),
    "symbol with a path in it": ({"symbols": ["../../etc"]}, "invalid symbol"),
    "unknown interval": ({"interval": "1Y"}, "1Y"),
    "symbols not a list": ({"symbols": 42}, "symbols"),
}


@pytest.mark.parametrize(("conf", "message"), BAD.values(), ids=BAD.keys())
def test_bad_params_fail_fast_naming_the_problem(
    airflow_db: None,
    warehouse: MySQLdb.Connection,
    binance_conn: Sim,
    capfd: pytest.CaptureFixture,
    conf: dict,
    message: str,
):
    assert run_dag(DAY, DAY + timedelta(hours=3), ["BTCUSDT"]) == "success"
    before = query(warehouse, f"SELECT * FROM {WAREHOUSE_DB}.fact_kline ORDER BY open_time")
    capfd.readouterr()
    requests_before = binance_conn.requests("/api/v3/klines")

    dag = load_dag("binance_etl")
    base = {"symbols": ["BTCUSDT"], "interval": "1h", "start": None, "end": None}
    try:
        state = dag.test(run_conf={**base, **conf}).state
    except Exception as err:  # the trigger form's schema rejected the params before any run
        state, output = "rejected", str(err)
    else:
        output = capfd.readouterr().out
    assert state in ("failed", "rejected")
    assert message in output
    assert binance_conn.requests("/api/v3/klines") == requests_before
    assert query(warehouse, f"SELECT * FROM {WAREHOUSE_DB}.fact_kline ORDER BY open_time") == before


def test_a_run_whose_plan_fails_still_reports_it(airflow_db: None, binance_conn: Sim, webhook: list[dict]):
    """No run folder was fixed, yet notify reports the failed run rather than crash on the missing folder."""
    dag = load_dag("binance_etl")
    conf = {"symbols": ["BTCUSDT"], "interval": "1h", "start": "2024-05-03", "end": "2024-05-01"}
    assert dag.test(run_conf=conf).state == "failed"
    report = summary(webhook)
    assert report["status"] == "failed" and report["failed_tasks"] == ["plan"]


def test_a_warehouse_that_points_nowhere_fails_the_run_naming_it(
    airflow_db: None, binance_conn: Sim, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
):
    from include import settings

    nowhere = {"conn_type": "mysql", "host": "127.0.0.1", "port": 1, "login": "root", "schema": WAREHOUSE_DB}
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_WAREHOUSE", json.dumps(nowhere))
    monkeypatch.setattr(settings, "RETRY_DELAY_S", 1.0)  # both retries happen, 1 s and 2 s apart
    assert run_dag(DAY, DAY + timedelta(hours=3), ["BTCUSDT"]) == "failed"
    output = capfd.readouterr().out
    assert output.count("Can't connect to") >= 3  # the first try and two retries
    assert "Can't connect to" in output and "127.0.0.1" in output
    assert "create_database" in output
