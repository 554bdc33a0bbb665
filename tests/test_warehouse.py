"""The bulk upsert against the real MariaDB: idempotent, logged once per batch, all-or-nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import MySQLdb
import pytest
from airflow.providers.mysql.hooks.mysql import MySqlHook

from binance_airflow.warehouse.connection import warehouse_hook
from binance_airflow.warehouse.loads import StagingFileError, upsert_csv
from binance_airflow.warehouse.schema import create_warehouse, upgrade_schema
from binance_airflow.warehouse.tables import TABLES
from include.transforms import dim_date
from include.transforms.snapshots import SYMBOL_COLUMNS
from include.transforms.staging import write_csv
from tests.conftest import ROOT, WAREHOUSE_DB
from tests.tcp_proxy import CuttingProxy

DAY_MS = 1_704_067_200_000  # 2024-01-01T00:00Z


@pytest.fixture
def schema() -> Iterator[MySQLdb.Connection]:
    """A fresh warehouse database with the project's DDL applied."""
    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", autocommit=True)
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB}")
    create_warehouse()
    conn.select_db(WAREHOUSE_DB)
    yield conn
    conn.close()


def rows_of(conn: MySQLdb.Connection, sql: str) -> list[tuple]:
    cur = conn.cursor()
    cur.execute(sql)
    return list(cur.fetchall())


def load_dates(path: Path, hours: int, run_id: str = "run-1", edit: bool = False) -> tuple[int, int, int]:
    """Upsert ``hours`` dim_date rows; ``edit`` changes the first row's weekday. (inserted, updated, unchanged)."""
    rows = dim_date.hours(DAY_MS, DAY_MS + hours * 3_600_000)
    if edit:
        rows[0] = (*rows[0][:-1], "Caturday")
    written = write_csv(path, dim_date.COLUMNS, rows)
    result = upsert_csv(warehouse_hook(), TABLES["dim_date"], path, written, run_id)
    return result.inserted, result.updated, result.unchanged


def test_reloading_a_batch_changes_nothing_and_logs_it_once(schema: MySQLdb.Connection, tmp_path: Path):
    path = tmp_path / "dim_date.csv"
    assert load_dates(path, 24) == (24, 0, 0)
    assert load_dates(path, 24) == (0, 0, 24)  # a task retry after the commit: nothing changed
    assert rows_of(schema, "SELECT COUNT(*) FROM dim_date") == [(24,)]
    assert rows_of(schema, "SELECT batch, rows_in, inserted, updated, unchanged FROM etl_run_log") == [
        ("dim_date.csv", 24, 0, 0, 24)
    ]
    assert load_dates(path, 30, "run-2") == (6, 0, 24)
    assert load_dates(path, 30, "run-3", edit=True) == (0, 1, 29)  # one value differs: that row is updated
    assert rows_of(schema, "SELECT weekday FROM dim_date ORDER BY date_key LIMIT 1") == [("Caturday",)]
    assert rows_of(schema, "SELECT COUNT(*) FROM dim_date") == [(30,)]


def stage_klines(path: Path, hours: int) -> int:
    """A staging CSV of ``hours`` hourly candles from 2024-01-01 (dims loaded so the keys resolve)."""
    from include.binance_sim.__main__ import parse_symbols
    from include.binance_sim.market import Market
    from include.binance_sim.payloads import klines_json
    from include.transforms import klines

    load_dates(path.with_name("dim_date.csv"), hours)
    write_csv(path.with_name("dim_symbol.csv"), SYMBOL_COLUMNS, [("BTCUSDT", "BTC", "USDT", "TRADING")])
    upsert_csv(warehouse_hook(), TABLES["dim_symbol"], path.with_name("dim_symbol.csv"), 1, "r")
    table = Market(parse_symbols("BTCUSDT", "2024-01-01")).klines("BTCUSDT", "1h", DAY_MS, None, hours)
    batch = klines.transform_klines(json.loads(klines_json(table)), "BTCUSDT", "1h", 10**15)
    return write_csv(path, klines.COLUMNS, batch.rows)


def load_klines(path: Path, rows: int, run_id: str = "run-1", conn_id: str | None = None) -> None:

    hook = warehouse_hook() if conn_id is None else MySqlHook(mysql_conn_id=conn_id, local_infile=True)
    upsert_csv(hook, TABLES["fact_kline"], path, rows, run_id)


def test_losing_the_database_mid_load_leaves_nothing_and_a_retry_loads_everything(
    schema: MySQLdb.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "fact_kline.csv"
    rows = stage_klines(path, 6000)
    proxy = CuttingProxy(("127.0.0.1", 3306))
    conn = {"conn_type": "mysql", "host": "127.0.0.1", "port": proxy.port, "login": "root", "schema": WAREHOUSE_DB}
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_VIA_PROXY", json.dumps(conn))
    proxy.cut_after = path.stat().st_size // 2  # in the middle of streaming the file
    with pytest.raises(MySQLdb.OperationalError):
        load_klines(path, rows, conn_id="warehouse_via_proxy")
    assert proxy.cuts == 1
    assert rows_of(schema, "SELECT COUNT(*) FROM fact_kline") == [(0,)]
    assert rows_of(schema, "SELECT COUNT(*) FROM etl_run_log WHERE table_name = 'fact_kline'") == [(0,)]
    load_klines(path, rows, conn_id="warehouse_via_proxy")
    assert rows_of(schema, "SELECT COUNT(*) FROM fact_kline") == [(rows,)]
    proxy.close()


def test_a_load_killed_half_way_leaves_nothing(schema: MySQLdb.Connection, tmp_path: Path):
    path = tmp_path / "fact_kline.csv"
    rows = stage_klines(path, 40_000)
    code = (
        "import sys; from pathlib import Path; from tests.test_warehouse import load_klines; "
        f"load_klines(Path({str(path)!r}), {rows})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not loading(schema) and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) != 0
    assert rows_of(schema, "SELECT COUNT(*) FROM fact_kline") == [(0,)]
    load_klines(path, rows)
    assert rows_of(schema, "SELECT COUNT(*) FROM fact_kline") == [(rows,)]


def test_readers_never_see_a_partial_batch(schema: MySQLdb.Connection, tmp_path: Path):
    path = tmp_path / "fact_kline.csv"
    rows = stage_klines(path, 40_000)
    seen: set[int] = set()
    reads = 0
    loader = threading.Thread(target=load_klines, args=(path, rows))
    loader.start()
    while loader.is_alive():
        seen.add(rows_of(schema, "SELECT COUNT(*) FROM fact_kline")[0][0])
        reads += 1
    loader.join()
    assert reads > 1  # the table was read while the load ran
    assert seen <= {0, rows}  # never a part of the batch
    assert rows_of(schema, "SELECT COUNT(*) FROM fact_kline") == [(rows,)]


def loading(conn: MySQLdb.Connection) -> bool:
    """True while some session is running LOAD DATA."""
    return any("LOAD DATA" in str(r[7]) for r in rows_of(conn, "SHOW FULL PROCESSLIST"))


@pytest.mark.parametrize("damage", ["truncate", "edit"])
def test_a_damaged_staging_file_fails_and_leaves_the_table_untouched(
    schema: MySQLdb.Connection, tmp_path: Path, damage: str
):
    path = tmp_path / "dim_date.csv"
    load_dates(path, 12)
    written = write_csv(path, dim_date.COLUMNS, dim_date.hours(DAY_MS, DAY_MS + 24 * 3_600_000))
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    else:
        path.write_text(text.replace(",2024,", ",twenty-four,", 1))
    with pytest.raises(StagingFileError, match=r"dim_date\.csv: .*left unchanged"):
        upsert_csv(warehouse_hook(), TABLES["dim_date"], path, written, "run-2")
    assert rows_of(schema, "SELECT COUNT(*) FROM dim_date") == [(12,)]
    assert rows_of(schema, "SELECT COUNT(*) FROM etl_run_log WHERE dag_run_id = 'run-2'") == [(0,)]


def test_a_warehouse_from_before_the_source_column_is_upgraded_in_place(schema: MySQLdb.Connection):
    """Tables created by an older release lack `source`; upgrade_schema adds it once, keeping the rows."""
    cur = schema.cursor()
    cur.execute("ALTER TABLE fact_kline DROP COLUMN source")
    cur.execute("ALTER TABLE fact_balance DROP COLUMN source")
    cur.execute("INSERT INTO fact_balance (asset, snapshot_time, free, locked) VALUES ('BTC', '2024-01-01', 1, 0)")
    assert upgrade_schema(WAREHOUSE_DB) == ["fact_kline.source", "fact_balance.source"]
    assert upgrade_schema(WAREHOUSE_DB) == []
    assert rows_of(schema, "SELECT asset, source FROM fact_balance") == [("BTC", "binance_api")]


def test_a_warehouse_from_before_accounts_is_upgraded_in_place_its_balances_the_default_accounts(
    schema: MySQLdb.Connection,
):
    """fact_balance keyed by (asset, snapshot_time), as an older release made it: upgrade_schema adds `account`
    (old rows: binance_default), widens the key and adds the account to dim_account; then a second account's
    balance of the same asset at the same moment no longer collides."""
    cur = schema.cursor()
    cur.execute("DROP TABLE fact_balance")
    cur.execute(
        "CREATE TABLE fact_balance (asset VARCHAR(20) NOT NULL, snapshot_time DATETIME(3) NOT NULL, "
        "free DECIMAL(36,8) NOT NULL, locked DECIMAL(36,8) NOT NULL, source VARCHAR(128) NOT NULL DEFAULT "
        "'binance_api', PRIMARY KEY (asset, snapshot_time))"
    )
    cur.execute("INSERT INTO fact_balance (asset, snapshot_time, free, locked) VALUES ('BTC', '2024-01-01', 1, 0)")
    schema.commit()
    assert upgrade_schema(WAREHOUSE_DB) == ["fact_balance.account", "fact_balance key (account, asset, snapshot_time)"]
    assert upgrade_schema(WAREHOUSE_DB) == []
    assert rows_of(schema, "SELECT account, asset, free FROM fact_balance") == [
        ("binance_default", "BTC", Decimal("1"))
    ]
    assert rows_of(schema, "SELECT account, kind, connection_id FROM dim_account") == [
        ("binance_default", "binance", "binance_default")
    ]
    cur.execute(
        "INSERT INTO fact_balance (account, asset, snapshot_time, free, locked) "
        "VALUES ('other', 'BTC', '2024-01-01', 2, 0)"
    )
    schema.commit()
    assert rows_of(schema, "SELECT COUNT(*) FROM fact_balance") == [(2,)]


def test_the_database_is_the_env_override_else_the_connections_schema_else_binance_dw(
    monkeypatch: pytest.MonkeyPatch,
):
    from binance_airflow.warehouse.connection import database

    conn = {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": "from_schema"}
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_WAREHOUSE", json.dumps(conn))
    assert database() == "from_schema"
    monkeypatch.setenv("BINANCE_ETL_WAREHOUSE_DB", "from_env")
    assert database() == "from_env"
    monkeypatch.delenv("BINANCE_ETL_WAREHOUSE_DB")
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_WAREHOUSE", json.dumps({**conn, "schema": ""}))
    assert database() == "binance_dw"


def test_a_load_chosen_as_a_deadlock_victim_is_retried_and_lands(schema: MySQLdb.Connection, tmp_path: Path):
    """Kline batches load two at a time, so a load can meet another writer. Here another transaction holds the
    file's second key, the load holds its first and waits, then the other asks for the first: MariaDB breaks
    the deadlock by rolling back the load (it wrote less). The load starts again and upserts the whole file."""
    path = tmp_path / "dim_date.csv"
    rows = dim_date.hours(DAY_MS, DAY_MS + 2 * 3_600_000)
    written = write_csv(path, dim_date.COLUMNS, rows)
    other = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", db=WAREHOUSE_DB)
    cur = other.cursor()
    marks = ", ".join(["%s"] * len(dim_date.COLUMNS))
    insert = f"INSERT INTO dim_date ({', '.join(dim_date.COLUMNS)}) VALUES ({marks})"
    cur.executemany(insert, dim_date.hours(DAY_MS + 10 * 86_400_000, DAY_MS + 20 * 86_400_000))  # a heavier writer
    cur.execute(insert, rows[1])
    outcome: dict[str, object] = {}

    def load() -> None:
        try:
            outcome["result"] = upsert_csv(warehouse_hook(), TABLES["dim_date"], path, written, "run-1")
        except Exception as err:  # the test reports whatever the load raised
            outcome["error"] = err

    loader = threading.Thread(target=load)
    loader.start()
    waits = "SELECT COUNT(*) FROM information_schema.INNODB_LOCK_WAITS"
    deadline = time.monotonic() + 30
    while rows_of(schema, waits) == [(0,)]:
        assert time.monotonic() < deadline, "the load never waited for the other transaction's key"
        time.sleep(0.2)  # InnoDB refreshes its lock tables only after 0.1 s without a read
    cur.execute(insert, rows[0])  # closes the cycle: MariaDB rolls the load back
    other.commit()
    other.close()
    loader.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].inserted + outcome["result"].updated + outcome["result"].unchanged == 2
    assert rows_of(schema, "SELECT COUNT(*) FROM dim_date") == [(2 + 10 * 24,)]
    assert rows_of(schema, "SELECT batch, rows_in FROM etl_run_log") == [("dim_date.csv", 2)]
