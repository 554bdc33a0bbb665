"""binance_import as dag.test() runs against real sources: the Talend project's MySQL database and files, a
PostgreSQL table and an SQLite query, into MariaDB; candles confirmed or corrected by the simulator."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import MySQLdb
import psycopg2
import pytest

from include import settings
from tests import talend_legacy as talend
from tests.conftest import WAREHOUSE_DB, Sim
from tests.dag_runs import assert_summaries_exact, expected, load_dag, query, task_tries
from tests.tcp_proxy import CuttingProxy

pytestmark = pytest.mark.dag
LEGACY_DB = "talend_legacy_test"
DB = WAREHOUSE_DB


@pytest.fixture
def import_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "IMPORT_ROOT", tmp_path / "import")
    settings.IMPORT_ROOT.mkdir()
    return settings.IMPORT_ROOT


@pytest.fixture
def legacy(monkeypatch: pytest.MonkeyPatch, warehouse: MySQLdb.Connection) -> list[dict]:
    """The Talend database behind the connection ``talend_legacy``; returns the 24hr tickers it holds."""
    close_ms = int(talend.EXPORTED.timestamp() * 1000) - 60_000
    tickers = [
        talend.ticker("BTCUSDT", close_ms),
        talend.ticker("ETHUSDT", close_ms, "0.5"),
        talend.ticker("XYZUSDT", close_ms),
    ]
    talend.create_database(warehouse, LEGACY_DB, tickers)
    conn = {
        "conn_type": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "login": "root",
        "password": "",
        "schema": LEGACY_DB,
    }
    monkeypatch.setenv("AIRFLOW_CONN_TALEND_LEGACY", json.dumps(conn))
    return tickers


def run_import(**conf: Any) -> Any:
    return load_dag("binance_import").test(run_conf=conf)


def import_report(webhook: list[dict]) -> dict:
    reports = [body for body in webhook if body["event"] == "import_summary"]
    return reports[-1]


def sim_candles(symbol: str, start: datetime, end: datetime) -> list[tuple]:
    return [(k[0], *(Decimal(v) for v in k[1:6])) for k in expected(symbol, "3d", start, end)]


def stored(conn: MySQLdb.Connection, symbol: str, source: str | None = None) -> list[tuple]:
    where = f" AND source = '{source}'" if source else ""
    return query(
        conn,
        f"SELECT open_time_ms, `open`, high, low, `close`, volume FROM {DB}.fact_kline "
        f"WHERE symbol = '{symbol}' AND `interval` = '3d'{where} ORDER BY open_time",
    )


def test_the_talend_database_migrates_with_one_trigger_and_binance_corrects_its_candles(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim, webhook: list[dict], legacy: list[dict]
):
    conf = {"sources": ["talend_database"], "conn_id": "talend_legacy", "captured_at": talend.CAPTURED_AT}
    assert run_import(**conf).state == "success"

    report = import_report(webhook)["sources"]
    btc = report["talend_db_klines"]["per_symbol"]["BTCUSDT"]
    legacy_btc = talend.legacy_candles()["BTCUSDT"]
    assert btc["read"] == len(legacy_btc) + 1 and btc["duplicates"] == 1
    assert btc["open_dropped"] == 1  # the candle still open when the old job saved it
    assert btc["corrected"] + btc["equal"] == len(legacy_btc) - 1 and btc["corrected"] > 0
    assert {"high", "low", "close"} <= set(btc["corrected_fields"])  # FLOAT(40,0) rounded them
    # what is stored is Binance's exact candles, the open one as it closed
    assert stored(warehouse, "BTCUSDT") == sim_candles("BTCUSDT", talend.BTC_FROM, talend.EXPORTED)
    ltc = report["talend_db_klines"]["per_symbol"]["LTCUSDT"]
    assert ltc["not_served"] == 2 and ltc["open_dropped"] == 0  # delisted: its last candle closed early
    assert stored(warehouse, "LTCUSDT", "binance_api") == sim_candles("LTCUSDT", *talend.LTC_LIFE)
    assert len(stored(warehouse, "LTCUSDT", "db:talend_db_klines")) == 2  # kept, with their provenance
    assert report["talend_db_klines"]["per_symbol"]["HSRBTC"]["rejected"] == 4
    reasons = query(warehouse, f"SELECT symbol, reason FROM {DB}.etl_reject WHERE batch = 'import:talend_db_klines'")
    assert {r for s, r in reasons if s == "HSRBTC"} == {
        "symbol HSRBTC is not listed by Binance (exchangeInfo, any status)"
    }

    # the 24hr snapshot: Europe/Paris local times stored as UTC, decimal commas read, an unknown symbol rejected
    tickers = query(
        warehouse, f"SELECT symbol, snapshot_time, last_price, source FROM {DB}.fact_ticker_24hr ORDER BY symbol"
    )
    close = datetime.fromtimestamp(legacy[0]["closeTime"] // 1000, UTC).replace(tzinfo=None)
    assert tickers == [
        ("BTCUSDT", close, Decimal("101.25"), "db:talend_db_24hrs"),
        ("ETHUSDT", close, Decimal("0.5"), "db:talend_db_24hrs"),
    ]
    assert report["talend_db_24hrs"]["rejected"] == 1
    balances = query(warehouse, f"SELECT asset, snapshot_time, free, locked FROM {DB}.fact_balance ORDER BY asset")
    at = datetime(2026, 11, 20, 12, 0)  # 13:00 in Paris
    assert balances == [
        ("BTC", at, Decimal("0.85"), Decimal("0")),
        ("ETH", at, Decimal("1.25"), Decimal("0")),
        ("USDT", at, Decimal("4910445.8"), Decimal("12.5")),
    ]
    log = query(
        warehouse, f"SELECT source, rows_read, open_dropped, not_served FROM {DB}.etl_import_log ORDER BY source"
    )
    assert [row[0] for row in log] == ["talend_db_24hrs", "talend_db_balance", "talend_db_klines"]

    # a rerun reads from the watermark (the last candles again) and changes nothing
    before = query(warehouse, f"SELECT COUNT(*), SUM(volume) FROM {DB}.fact_kline")
    assert run_import(**conf).state == "success"
    again = import_report(webhook)["sources"]
    assert all(s["inserted"] == 0 and s["updated"] == 0 for s in again.values())
    assert again["talend_db_klines"]["rows_read"] < report["talend_db_klines"]["rows_read"]
    assert query(warehouse, f"SELECT COUNT(*), SUM(volume) FROM {DB}.fact_kline") == before
    assert_summaries_exact(warehouse, DB)  # corrected, kept and rerun candles summarised exactly


def test_the_talend_files_import_with_one_trigger(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim, webhook: list[dict], import_root: Path
):
    close_ms = int(talend.EXPORTED.timestamp() * 1000) - 60_000
    talend.write_files(import_root, [talend.ticker("BTCUSDT", close_ms), talend.ticker("ETHUSDT", close_ms)])
    assert run_import(sources=["talend_files"], captured_at=talend.CAPTURED_AT).state == "success"
    report = import_report(webhook)["sources"]
    assert set(report) == {
        "talend_klines_json",
        "talend_balances_csv",
        "talend_nonzero_balances_csv",
        "talend_24hr_csv",
        "talend_24hr_json",
    }
    assert stored(warehouse, "BTCUSDT") == sim_candles("BTCUSDT", talend.BTC_FROM, talend.EXPORTED)
    assert report["talend_klines_json"]["per_symbol"]["BTCUSDT"]["open_dropped"] == 1
    balances = query(warehouse, f"SELECT asset, free, source FROM {DB}.fact_balance ORDER BY asset")
    assert balances == [
        ("BNB", Decimal("3.5"), "file:talend_nonzero_balances_csv"),
        ("BTC", Decimal("0.85"), "file:talend_balances_csv"),
        ("ETH", Decimal("1.25"), "file:talend_balances_csv"),
        ("USDT", Decimal("4910445.8"), "file:talend_balances_csv"),
    ]
    tickers = query(
        warehouse, f"SELECT symbol, snapshot_time, source FROM {DB}.fact_ticker_24hr ORDER BY snapshot_time, symbol"
    )
    csv_time = datetime.fromtimestamp(close_ms / 1000, UTC).replace(tzinfo=None)
    assert [(s, t) for s, t, src in tickers if src == "file:talend_24hr_csv"] == [
        ("BTCUSDT", csv_time),
        ("ETHUSDT", csv_time),
    ]
    assert len([t for t in tickers if t[2] == "file:talend_24hr_json"]) == 2

    # unchanged files are not read again
    assert run_import(sources=["talend_files"], captured_at=talend.CAPTURED_AT).state == "success"
    again = import_report(webhook)["sources"]
    assert all(s["rows_read"] == 0 and s["inserted"] == 0 for s in again.values())


PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def test_a_postgresql_table_and_an_sqlite_query_import_and_a_conflicting_row_is_rejected_with_both_values(
    airflow_db: None,
    warehouse: MySQLdb.Connection,
    binance_conn: Sim,
    webhook: list[dict],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    start = datetime(2024, 3, 1, tzinfo=UTC)
    candles = expected("ETHUSDT", "1h", start, start + timedelta(hours=12))
    with psycopg2.connect(PG_DSN) as pg, pg.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS other_klines")
        cur.execute(
            "CREATE TABLE other_klines "
            "(pair TEXT, opened TIMESTAMP, o NUMERIC, h NUMERIC, l NUMERIC, c NUMERIC, v NUMERIC)"
        )
        cur.executemany(
            "INSERT INTO other_klines VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [("ETHUSDT", datetime.fromtimestamp(k[0] / 1000, UTC).replace(tzinfo=None), *k[1:6]) for k in candles],
        )
    lite = tmp_path / "company_b.sqlite"
    with sqlite3.connect(lite) as db:
        db.execute("CREATE TABLE holdings (coin TEXT, amount TEXT, frozen TEXT, taken TEXT)")
        db.executemany(
            "INSERT INTO holdings VALUES (?, ?, ?, ?)",
            [("BTC", "2", "0", "2024-03-01 00:00:00"), ("ETH", "7", "1", "2024-03-01 00:00:00")],
        )
    monkeypatch.setenv(
        "AIRFLOW_CONN_OTHER_PG",
        json.dumps(
            {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "postgres"}
        ),
    )
    monkeypatch.setenv("AIRFLOW_CONN_COMPANY_B", json.dumps({"conn_type": "sqlite", "host": str(lite)}))
    sources = {
        "pg_klines": {
            "kind": "table",
            "connection": "other_pg",
            "table": "other_klines",
            "target": "fact_kline",
            "interval": "1h",
            "columns": {"open_time": "opened", "open": "o", "high": "h", "low": "l", "close": "c", "volume": "v"},
            "symbol": {"column": "pair"},
            "cursor": "opened",
        },
        "company_b_balances": {
            "kind": "query",
            "connection": "company_b",
            "target": "fact_balance",
            "query": "SELECT coin, amount, frozen, taken FROM holdings WHERE amount <> '0'",
            "columns": {"asset": "coin", "free": "amount", "locked": "frozen", "snapshot_time": "taken"},
        },
    }
    monkeypatch.setenv("AIRFLOW_VAR_BINANCE_IMPORT_SOURCES", json.dumps({"sources": sources}))
    assert run_import(sources=["pg_klines", "company_b_balances"]).state == "success"
    report = import_report(webhook)["sources"]
    assert report["pg_klines"]["per_symbol"]["ETHUSDT"]["equal"] == 12
    assert query(warehouse, f"SELECT COUNT(*) FROM {DB}.fact_kline WHERE symbol = 'ETHUSDT'") == [(12,)]
    assert report["company_b_balances"]["inserted"] == 2

    # the source changes a balance the warehouse already holds: rejected, both values named, the warehouse kept
    with sqlite3.connect(lite) as db:
        db.execute("UPDATE holdings SET amount = '9' WHERE coin = 'ETH'")
    assert run_import(sources=["company_b_balances"]).state == "success"
    report = import_report(webhook)["sources"]["company_b_balances"]
    assert report["conflicts"] == 1 and report["updated"] == 0
    (reason,) = query(
        warehouse, f"SELECT reason FROM {DB}.etl_reject WHERE batch = 'import:company_b_balances' AND symbol = 'ETH'"
    )
    assert "free: warehouse 7.00000000, source 9.00000000" in reason[0]
    assert query(warehouse, f"SELECT free FROM {DB}.fact_balance WHERE asset = 'ETH'") == [(Decimal("7"),)]


def test_a_source_database_lost_mid_read_loads_nothing_and_the_retry_reads_it_whole(
    airflow_db: None,
    warehouse: MySQLdb.Connection,
    binance_conn: Sim,
    webhook: list[dict],
    legacy: list[dict],
    monkeypatch: pytest.MonkeyPatch,
):
    proxy = CuttingProxy(("127.0.0.1", 3306))
    conn = {"conn_type": "mysql", "host": "127.0.0.1", "port": proxy.port, "login": "root", "schema": LEGACY_DB}
    monkeypatch.setenv("AIRFLOW_CONN_TALEND_LEGACY", json.dumps(conn))
    monkeypatch.setattr(settings, "IMPORT_CHUNK_ROWS", 5)
    monkeypatch.setattr(settings, "RETRY_DELAY_S", 0.5)
    proxy.cut_reply_after = 6000  # past the handshake and the first chunks: the server is lost mid-read
    try:
        run = run_import(sources=["talend_db_klines"], conn_id="talend_legacy")
    finally:
        proxy.close()
    assert run.state == "success" and proxy.cuts == 1
    assert task_tries(run.run_id)["stage_source"] == 2
    # read 5 rows at a time: each series in chunks, continued across them (interval, duplicates, spacing)
    assert stored(warehouse, "BTCUSDT") == sim_candles("BTCUSDT", talend.BTC_FROM, talend.EXPORTED)
    assert stored(warehouse, "LTCUSDT", "binance_api") == sim_candles("LTCUSDT", *talend.LTC_LIFE)
    assert import_report(webhook)["sources"]["talend_db_klines"]["per_symbol"]["BTCUSDT"]["duplicates"] == 1
    assert query(warehouse, f"SELECT COUNT(*) FROM {DB}.etl_import_log") == [(1,)]


def test_a_file_in_another_encoding_or_lacking_a_mapped_column_fails_its_source_by_name_and_loads_nothing(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim, webhook: list[dict], import_root: Path
):
    (import_root / "final").mkdir()
    header = ["symbol", "priceChange", "note"]
    (import_root / "final" / "24hr.csv").write_bytes(
        ";".join(header).encode() + "\nBTCUSDT;1,5;févr.\n".encode("latin-1")
    )
    (import_root / "balances.csv").write_text("assets;free;symbol\nBTC;0.85;BTCUSDT\n")
    run = run_import(sources=["talend_24hr_csv", "talend_balances_csv"], captured_at=talend.CAPTURED_AT)
    assert run.state == "failed"
    errors = sorted(
        body["error"] for body in webhook if body["event"] == "task_failed" and body["task_id"] == "stage_source"
    )
    assert errors == [
        "balances.csv: column lockes missing (it has: assets, free, symbol); map the columns in the spec"
        " or state captured_at, the moment the balances were read",
        "final/24hr.csv: cannot be read as CSV: not utf-8 text (byte 37)",
    ]
    assert task_tries(run.run_id)["stage_source"] == 1  # the file itself: not retried
    for table in ("fact_balance", "fact_ticker_24hr", "etl_import_state", "etl_import_log"):
        assert query(warehouse, f"SELECT COUNT(*) FROM {DB}.{table}") == [(0,)]


def test_a_second_companys_warehouse_merges_with_its_own_account_and_provenance(
    airflow_db: None,
    warehouse: MySQLdb.Connection,
    binance_conn: Sim,
    webhook: list[dict],
    monkeypatch: pytest.MonkeyPatch,
):
    """Another warehouse of this same schema (another database): its balances become the account company_b, its
    candles are confirmed by Binance like any others."""
    from binance_airflow.warehouse.tables import TABLE_FILES

    other = "company_b_dw_test"
    cur = warehouse.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {other}")
    cur.execute(f"CREATE DATABASE {other}")
    cur.execute(f"USE {other}")
    for file in TABLE_FILES:  # each file: comment lines, then one CREATE TABLE
        lines = (settings.SQL_DIR / file).read_text().splitlines()
        cur.execute("\n".join(line for line in lines if not line.startswith("--")))
    cur.execute("SET FOREIGN_KEY_CHECKS = 0")
    start = datetime(2024, 3, 1, tzinfo=UTC)
    candles = expected("ETHUSDT", "1h", start, start + timedelta(hours=6))
    cur.executemany(
        "INSERT INTO fact_kline (symbol, `interval`, open_time, open_time_ms, date_key, `open`, high, low, `close`, "
        "volume, close_time) VALUES ('ETHUSDT', '1h', %s, %s, 0, %s, %s, %s, %s, %s, %s)",
        [(talend.naive_utc(k[0]), k[0], *k[1:6], talend.naive_utc(k[6])) for k in candles],
    )
    cur.execute(
        "INSERT INTO fact_balance (asset, snapshot_time, free, locked) VALUES ('BTC', '2024-03-01 12:00', 2, 0)"
    )
    warehouse.commit()
    conn = {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": other}
    monkeypatch.setenv("AIRFLOW_CONN_COMPANY_B_DW", json.dumps(conn))
    sources = {
        "company_b_klines": {
            "kind": "query",
            "connection": "company_b_dw",
            "query": "SELECT * FROM fact_kline WHERE `interval` = '1h'",
            "target": "fact_kline",
            "interval": "1h",
        },
        "company_b_balances": {
            "kind": "table",
            "connection": "company_b_dw",
            "table": "fact_balance",
            "target": "fact_balance",
            "account": "company_b",
        },
    }
    monkeypatch.setenv(
        "AIRFLOW_VAR_BINANCE_IMPORT_SOURCES", json.dumps({"sources": sources, "groups": {"company_b": list(sources)}})
    )
    try:
        assert run_import(sources=["company_b"]).state == "success"
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS {other}")
    report = import_report(webhook)["sources"]
    assert report["company_b_klines"]["per_symbol"]["ETHUSDT"]["equal"] == 6
    balances = query(warehouse, f"SELECT account, asset, free, source FROM {DB}.fact_balance")
    assert balances == [("company_b", "BTC", Decimal("2"), "db:company_b_balances")]
    accounts = query(warehouse, f"SELECT account, kind, connection_id FROM {DB}.dim_account")
    assert accounts == [("company_b", "import", "company_b_dw")]
