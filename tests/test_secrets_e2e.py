"""A whole run with the API key pair leaves the secret and every signature out of logs, XComs, files and tables."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import MySQLdb
import pytest

from include import settings
from tests.conftest import API_SECRET, WAREHOUSE_DB, Sim
from tests.dag_runs import DAY, query, run_dag

pytestmark = pytest.mark.dag


def test_secret_and_signatures_appear_nowhere(
    airflow_db: None,
    warehouse: MySQLdb.Connection,
    binance_conn: Sim,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
):
    monkeypatch.setattr(settings, "KEEP_STAGING", True)
    recent = DAY + timedelta(days=1)  # balances (the signed call) are captured for recent windows only
    assert run_dag(recent, recent + timedelta(hours=6), ["BTCUSDT"]) == "success"
    signatures = binance_conn.signatures()
    assert signatures, "the run made no signed call, so the scan would prove nothing"
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_balance") == [(3,)]

    captured = capfd.readouterr()
    places = {"task output": captured.out + captured.err}
    home = Path(os.environ["AIRFLOW_HOME"])
    for folder in (home / "logs", settings.STAGING_ROOT):
        for path in folder.rglob("*"):
            if path.is_file():
                places[str(path)] = path.read_text(errors="replace")
    with sqlite3.connect(home / "airflow.db") as metadata:
        places["xcom"] = repr(metadata.execute("SELECT key, value FROM xcom").fetchall())
        places["dag_run conf"] = repr(metadata.execute("SELECT conf FROM dag_run").fetchall())
    for table in ("etl_run_log", "etl_reject", "fact_balance", "dim_symbol"):
        places[table] = repr(query(warehouse, f"SELECT * FROM {WAREHOUSE_DB}.{table}"))
    assert len(places) > 5
    for needle in (API_SECRET, *signatures):
        leaks = [place for place, text in places.items() if needle in text]
        assert leaks == [], f"{needle[:6]}… found in {leaks}"
