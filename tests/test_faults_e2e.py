"""Whole DAG runs under injected faults: every run converges to exactly the server's candles, or stops loudly."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import MySQLdb
import pytest

from tests.conftest import WAREHOUSE_DB, Sim, connection_uri
from tests.dag_runs import DAY, assert_exact_candles, query, run_dag
from tests.private_mariadb import PrivateMariaDB

pytestmark = pytest.mark.dag
END = DAY + timedelta(days=1)  # 1,440 one-minute candles: two pages, three with a short page

# Whole runs through repeated faults, and through every kind at once (each kind alone, 500 and 502 included, is
# retried in test_hook.py::test_transient_failures_are_retried_with_backoff, without a DAG run each).
FAULTS = {
    "429 with Retry-After": [("rate_limit", {"times": 2, "seconds": 1})],
    "HTTP 503": [("status", {"status": 503, "times": 2})],
    "connection reset": [("reset", {"times": 2})],
    "connection dropped mid-body": [("cut", {"times": 3})],
    "duplicated candle across pages": [("repeat_candle", {"times": 2})],
    "all of them at once": [
        ("rate_limit", {"seconds": 1}),
        ("status", {"status": 503}),
        ("reset", {}),
        ("malformed", {}),
        ("html", {}),
        ("short_page", {}),
        ("repeat_candle", {}),
        ("cut", {}),
    ],
}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
def test_transient_faults_still_load_exactly_the_server_candles(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim, faults: list
):
    for kind, spec in faults:
        binance_conn.fault(kind, path="/api/v3/klines", **spec)
    assert run_dag(DAY, END, ["BTCUSDT"], "1m") == "success"
    assert assert_exact_candles(warehouse, "BTCUSDT", "1m", DAY, END) == 1440
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.etl_reject") == [(0,)]


def test_read_timeouts_are_retried(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim
):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, timeout=0.5))
    sim.fault("delay", path="/api/v3/klines", seconds=1.5, times=2)
    assert run_dag(DAY, END, ["BTCUSDT"], "1m") == "success"
    assert assert_exact_candles(warehouse, "BTCUSDT", "1m", DAY, END) == 1440


def test_a_ban_stops_at_once_and_fails_the_run_saying_until_when(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim, capfd: pytest.CaptureFixture
):
    binance_conn.fault("ban", path="/api/v3/klines", seconds=120, times=50)
    assert run_dag(DAY, END, ["BTCUSDT"], "1m") == "failed"
    assert binance_conn.requests("/api/v3/klines") == 1  # no retry, no hammering during the ban
    logs = capfd.readouterr().out + "".join(
        p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW_HOME"], "logs").rglob("*") if p.is_file()
    )
    assert "banned until" in logs


def test_clock_skew_on_signed_calls_is_recovered_via_server_time(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim
):
    binance_conn.configure(clock_skew_ms=-60_000)  # our timestamps look a minute ahead: -1021
    recent = DAY + timedelta(days=1)  # balances are captured for recent windows only
    assert run_dag(recent, recent + timedelta(hours=2), ["BTCUSDT"]) == "success"
    assert binance_conn.requests("/api/v3/time") >= 1
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_balance") == [(3,)]


def test_a_range_before_listing_loads_nothing_and_succeeds(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim
):
    start = datetime(2024, 2, 27, tzinfo=UTC)  # BNBUSDT lists on 2024-03-01
    assert run_dag(start, start + timedelta(days=2), ["BNBUSDT"]) == "success"
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline") == [(0,)]


def test_a_symbol_delisted_mid_range_loads_up_to_its_last_candle(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim
):
    start, end = datetime(2024, 6, 13, tzinfo=UTC), datetime(2024, 6, 17, tzinfo=UTC)  # LTCUSDT delisted 06-15
    assert run_dag(start, end, ["LTCUSDT"]) == "success"
    assert assert_exact_candles(warehouse, "LTCUSDT", "1h", start, end) == 48


def test_mariadb_killed_in_the_middle_of_a_load_and_restarted_converges(
    airflow_db: None, binance_conn: Sim, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """Two monthly kline batches; the server is SIGKILLed once the first is committed, then restarted."""
    server = PrivateMariaDB(tmp_path)
    conn = {"conn_type": "mysql", "host": "127.0.0.1", "port": server.port, "login": "root", "schema": WAREHOUSE_DB}
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_WAREHOUSE", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(binance_conn.base_url, archives=True))
    committed_at_kill: list[int] = []

    def crash_mid_load() -> None:
        watcher = server.connect()
        while True:
            try:
                cur = watcher.cursor()
                cur.execute(f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.etl_run_log WHERE table_name = 'fact_kline'")
                committed = cur.fetchone()[0]
            except MySQLdb.Error:  # the schema does not exist yet
                committed = 0
            if committed:
                committed_at_kill.append(committed)
                server.kill()
                time.sleep(1)
                server.start()
                return
            time.sleep(0.005)

    crasher = threading.Thread(target=crash_mid_load, daemon=True)
    crasher.start()
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    assert run_dag(start, end, ["BTCUSDT"], "1m") == "success"
    crasher.join(timeout=5)
    assert committed_at_kill == [1]  # killed between the two batches' commits: mid-load
    check = server.connect()
    assert assert_exact_candles(check, "BTCUSDT", "1m", start, end) == 60 * 24 * 60
    cur = check.cursor()
    cur.execute(f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.etl_run_log WHERE table_name = 'fact_kline'")
    assert cur.fetchone() == (2,)
    server.kill()
