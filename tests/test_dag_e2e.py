"""Whole binance_etl runs with dag.test(): real Airflow, real MariaDB, the simulator over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import MySQLdb
import pytest

from binance_airflow.warehouse.schema import create_warehouse
from tests.conftest import ROOT, WAREHOUSE_DB, Sim, connection_uri
from tests.dag_runs import (
    DAY,
    assert_exact_candles,
    expected,
    query,
    run_dag,
    scheduled_run,
    task_tries,
    whole_run,
)

pytestmark = pytest.mark.dag
SYMBOLS = ["BTCUSDT", "ETHUSDT"]


def test_full_run_loads_exactly_the_server_candles_and_is_idempotent(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim
):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url))
    end = DAY + timedelta(days=1)
    started = datetime.now(UTC).replace(tzinfo=None)
    assert run_dag(DAY, end, SYMBOLS) == "success"
    finished = datetime.now(UTC).replace(tzinfo=None)
    for symbol in SYMBOLS:
        assert assert_exact_candles(warehouse, symbol, "1h", DAY, end) == 24
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.dim_date")[0][0] == 24
    # Snapshots carry Binance's own time (the ticker's closeTime, the server time of the balances), not the
    # window's end: the same snapshot captured by two runs is one row, and its time is when it was true.
    for table in ("fact_ticker_24hr", "fact_balance"):
        times = query(warehouse, f"SELECT snapshot_time FROM {WAREHOUSE_DB}.{table}")
        assert len(times) == {"fact_ticker_24hr": 2, "fact_balance": 3}[table]
        assert all(started <= moment <= finished for (moment,) in times), (table, times, started, finished)
    assert query(warehouse, f"SELECT symbol, base_asset, quote_asset FROM {WAREHOUSE_DB}.dim_symbol ORDER BY 1") == [
        ("BTCUSDT", "BTC", "USDT"),
        ("ETHUSDT", "ETH", "USDT"),
    ]
    snapshot = query(warehouse, f"SELECT SUM(`close`), COUNT(*) FROM {WAREHOUSE_DB}.fact_kline")

    rerun = whole_run(DAY, end, SYMBOLS)
    assert rerun.state == "success"
    assert query(warehouse, f"SELECT SUM(`close`), COUNT(*) FROM {WAREHOUSE_DB}.fact_kline") == snapshot
    counts = query(
        warehouse,
        "SELECT SUM(inserted), SUM(updated), SUM(unchanged) FROM "
        f"{WAREHOUSE_DB}.etl_run_log WHERE table_name = 'fact_kline' "
        f"AND dag_run_id = '{rerun.run_id}'",
    )
    assert counts == [(0, 0, 48)]  # a rerun that changes nothing says so

    assert run_dag(end, end + timedelta(days=1), SYMBOLS) == "success"
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline")[0][0] == 96


def test_catchup_runs_by_month_and_day_load_exactly_the_daily_rows_from_archives(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim
):
    """The timetable's runs (a whole month, then days) with archive files load every candle of the span."""
    from include.run_periods import period_end

    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, archives=True))
    start, now = datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 3, 6, tzinfo=UTC)
    cursor = start
    while (end := period_end(cursor, now)) <= now:
        assert run_dag(cursor, end, ["BTCUSDT", "BNBUSDT"]) == "success"
        cursor = end
    assert sim.requests("/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-12.zip") == 1
    assert sim.requests("/data/spot/daily/klines/BNBUSDT/1h/BNBUSDT-1h-2025-01-02.zip") == 1
    for symbol in ("BTCUSDT", "BNBUSDT"):
        assert assert_exact_candles(warehouse, symbol, "1h", start, cursor) == 33 * 24


def test_a_catchup_month_run_equals_daily_runs_row_for_row(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim, tmp_path: Path
):
    """February 2024 as the timetable runs it (one whole DAG run for the month) and as 29 daily runs (the
    DAG's steps, as each daily run executes them) leave identical tables."""
    from binance_airflow.binance.hook import BinanceHook
    from binance_airflow.etl import steps
    from binance_airflow.warehouse.tables import TABLES
    from include.run_periods import period_end
    from include.run_window import resolve
    from tests.test_schedule_coverage_e2e import daily_run

    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, archives=True))
    start, end = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    assert period_end(start, datetime.now(UTC)) == end  # the timetable runs this month once
    snapshot = (
        "SELECT symbol, `interval`, open_time, open_time_ms, date_key, `open`, high, low, `close`, volume, close_time, "
        f"quote_volume, trades, taker_buy_base_volume, taker_buy_quote_volume FROM {WAREHOUSE_DB}.fact_kline "
        "ORDER BY symbol, open_time"
    )
    dates = f"SELECT * FROM {WAREHOUSE_DB}.dim_date ORDER BY date_key"
    assert run_dag(start, end, ["BTCUSDT"], "15m") == "success"
    monthly = query(warehouse, snapshot), query(warehouse, dates)
    assert len(monthly[0]) == 29 * 96

    query(warehouse, f"DROP DATABASE {WAREHOUSE_DB}")
    create_warehouse()
    hook, day = BinanceHook(), start
    first = resolve({"symbols": ["BTCUSDT"], "interval": "15m"}, start, start + timedelta(days=1), start)
    steps.extract_exchange_info(first, tmp_path, hook)
    steps.load_table("dim_symbol", steps.stage_table(TABLES["dim_symbol"], first, tmp_path), "dims")
    while day < end:
        daily_run(day, "15m", ["BTCUSDT"], tmp_path / f"{day:%d}", hook)
        day += timedelta(days=1)
    assert (query(warehouse, snapshot), query(warehouse, dates)) == monthly


def test_the_warehouse_database_is_the_connections_schema_unless_overridden(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, binance_conn: Sim
):
    other = WAREHOUSE_DB + "_schema"
    query(warehouse, f"DROP DATABASE IF EXISTS {other}")
    conn = {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": other}
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_WAREHOUSE", json.dumps(conn))
    try:
        assert run_dag(DAY, DAY + timedelta(hours=3), ["BTCUSDT"]) == "success"
        assert query(warehouse, f"SELECT COUNT(*) FROM {other}.fact_kline") == [(3,)]
        assert query(warehouse, f"SHOW DATABASES LIKE '{WAREHOUSE_DB}'") == []  # nothing went to another database
    finally:
        query(warehouse, f"DROP DATABASE IF EXISTS {other}")


def test_daily_runs_load_weekly_and_three_day_candles_on_the_day_they_close(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim
):
    """A 1w or 3d run on a day when no such candle closes succeeds with nothing to load (it used to fail plan
    with "empty window"); the run of the day a candle closes loads it, once it has closed."""
    tuesday = datetime(2024, 5, 15, tzinfo=UTC)  # the period [Tue 2024-05-14, Wed 2024-05-15)
    assert scheduled_run(tuesday, ["BTCUSDT"], "1w").state == "success"
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline") == [(0,)]
    monday = datetime(2024, 5, 20, tzinfo=UTC)  # the period [Sun 2024-05-19, Mon 2024-05-20)
    assert scheduled_run(monday, ["BTCUSDT"], "1w").state == "success"
    assert query(warehouse, f"SELECT open_time FROM {WAREHOUSE_DB}.fact_kline") == [(datetime(2024, 5, 13),)]
    three_day = expected("ETHUSDT", "3d", datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 10, tzinfo=UTC))
    closes = datetime.fromtimestamp((three_day[0][0] + 3 * 86_400_000) / 1000, UTC)  # ETHUSDT's own 3d grid
    assert scheduled_run(closes - timedelta(days=1), ["ETHUSDT"], "3d").state == "success"
    assert scheduled_run(closes, ["ETHUSDT"], "3d").state == "success"
    assert query(warehouse, f"SELECT open_time_ms FROM {WAREHOUSE_DB}.fact_kline WHERE `interval` = '3d'") == [
        (three_day[0][0],)
    ]


def test_run_without_api_key_skips_balances(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim
):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, with_key=False))
    assert run_dag(DAY, DAY + timedelta(hours=6), ["BTCUSDT"]) == "success"
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline")[0][0] == 6
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_balance")[0][0] == 0
    assert sim.requests("/api/v3/account") == 0


def test_unknown_symbol_fails_the_run_naming_it(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim
):
    """Binance answers HTTP 400 (-1121 Invalid symbol) to exchangeInfo and to the 24hr ticker: a request that
    will never succeed, so each task fails on its first try instead of waiting out its retries."""
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url))
    run = whole_run(DAY, DAY + timedelta(hours=6), ["BTCUSDT", "DOGEUSDT"])
    assert run.state == "failed"
    assert sim.requests("/api/v3/klines") == 0
    tries = task_tries(run.run_id)
    assert (tries["extract_exchange_info"], tries["extract_ticker"]) == (1, 1)


def test_rejected_candle_lands_in_etl_reject_and_the_webhook_report(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim
):
    """Binance serves one broken candle once: it is rejected with its reason, then asked for again and healed."""
    binance_conn.fault("bad_candle", path="/api/v3/klines")
    end = DAY + timedelta(hours=6)
    assert run_dag(DAY, end, ["BTCUSDT"]) == "success"
    assert assert_exact_candles(warehouse, "BTCUSDT", "1h", DAY, end) == 6
    bad_open_ms = int(DAY.timestamp() * 1000)
    rejects = query(warehouse, f"SELECT symbol, `interval`, open_time_ms, reason FROM {WAREHOUSE_DB}.etl_reject")
    assert len(rejects) == 1
    assert rejects[0][:3] == ("BTCUSDT", "1h", bad_open_ms)
    assert "high" in rejects[0][3]
    log = query(
        warehouse,
        f"SELECT batch, rows_in, inserted, rejects FROM {WAREHOUSE_DB}.etl_run_log "
        "WHERE table_name = 'fact_kline' ORDER BY batch",
    )
    assert [row[1:] for row in log] == [(5, 5, 1), (1, 1, 0)] and log[1][0] == "fact_kline.BTCUSDT.heal.csv"
    assert len(webhook) == 1
    report = webhook[0]
    assert report["status"] == "success"
    assert report["tables"]["fact_kline"] == {"rows_in": 5, "inserted": 5, "updated": 0, "unchanged": 0, "rejects": 1}
    assert report["healed"] == {"BTCUSDT": 1}
    assert report["tables"]["dim_date"]["rows_in"] == 6


def test_dagbag_imports_and_graph():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dags) == {
        "binance_etl",
        "binance_forecast",
        "binance_file_inbox",
        "binance_import",
        "binance_stream_freshness",
    }
    for each in bag.dags.values():  # the UI explains every step of every DAG
        assert each.doc_md and [t.task_id for t in each.tasks if not t.doc_md] == []
    dag = bag.dags["binance_etl"]
    assert type(dag.timetable).__name__ == "HistoryThenDailyTimetable"
    assert set(dag.params.keys()) >= {"symbols", "interval", "start", "end"}
    assert {t.task_id for t in dag.tasks} >= {
        "binance_up",
        "plan",
        "create_schema",
        "extract_exchange_info",
        "extract_ticker",
        "extract_account",
        "klines.extract_klines",
        "klines.transform_klines",
        "klines.load_klines",
        "load_dim_symbol",
        "load_dim_date",
        "load_fact_kline",
        "load_fact_ticker_24hr",
        "load_fact_balance",
        "notify",
    }
    assert [t.task_id for t in dag.tasks if not t.doc_md] == []  # the UI explains every step
    assert dag.get_task("notify").trigger_rule == "all_done"
    assert dag.get_task("binance_up").downstream_task_ids >= {"plan", "extract_exchange_info"}
    loads = [
        "load_dim_symbol",
        "load_dim_account",
        "load_dim_date",
        "load_fact_kline",
        "load_fact_ticker_24hr",
        "load_fact_balance",
    ]
    checks = ["check_dim_date", "check_fact_kline", "check_fact_ticker_24hr", "check_fact_balance"]
    publishes = [task.replace("load_", "publish_") for task in loads]
    assert dag.get_task("notify").upstream_task_ids >= {*loads, *checks, *publishes, "reconcile_fact_kline"}
    assert dag.get_task("reconcile_fact_kline").upstream_task_ids >= {"load_fact_kline"}
    # each batch of symbols flows extract → transform → load on its own; its load needs the dimensions
    assert dag.get_task("klines.transform_klines").upstream_task_ids == {"klines.extract_klines", "plan"}
    assert dag.get_task("klines.load_klines").upstream_task_ids == {
        "klines.transform_klines",
        "load_dim_date",
        "load_dim_symbol",
    }
    assert dag.get_task("load_fact_kline").upstream_task_ids == {"klines.load_klines"}
    flow = [
        dag.get_task(f"klines.{step}").priority_weight for step in ("extract_klines", "transform_klines", "load_klines")
    ]
    assert flow == sorted(set(flow))  # depth first: a ready load before a transform, a transform before an extract
    assert dag.get_task("check_fact_kline").upstream_task_ids == {"reconcile_fact_kline"}
    assert dag.get_task("publish_fact_kline").upstream_task_ids == {
        "check_fact_kline",
        "load_fact_kline",
        "reconcile_fact_kline",
    }
    assert dag.get_task("publish_fact_ticker_24hr").upstream_task_ids == {
        "check_fact_ticker_24hr",
        "load_fact_ticker_24hr",
    }
    # Assets come only from the publish tasks, after the gates: never from a load whose data a gate may fail
    assert {task.task_id: [a.name for a in task.outlets] for task in dag.tasks if task.outlets} == {
        task: [f"binance_warehouse.{task.removeprefix('publish_')}"] for task in publishes
    }
