"""Least privilege on the real MariaDB: the writer stays inside the warehouse, the reader only reads, and the
read-only connection (dashboard, BI) refuses the server's LOAD DATA LOCAL INFILE requests."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import MySQLdb
import pytest
from airflow.providers.mysql.hooks.mysql import MySqlHook

from binance_airflow.warehouse.roles import Login, ensure_users, readable_objects

DATABASE = "binance_dw_roles_test"
OTHER = "binance_roles_other_test"
WRITER = Login("bdw_writer_test", secrets.token_hex(12))
READER = Login("bdw_reader_test", secrets.token_hex(12))


def root() -> MySQLdb.Connection:
    return MySQLdb.connect(host="127.0.0.1", user="root", passwd="", autocommit=True)


def as_user(login: Login, **options: object) -> MySQLdb.Connection:
    return MySQLdb.connect(
        host="127.0.0.1", user=login.user, passwd=login.password, db=DATABASE, autocommit=True, **options
    )


def denied(conn: MySQLdb.Connection, sql: str) -> str:
    """The server's refusal of ``sql`` (fails the test when it is allowed)."""
    with pytest.raises(MySQLdb.OperationalError) as refused:
        conn.cursor().execute(sql)
    return str(refused.value)


@pytest.fixture(scope="module")
def roles(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[None]:
    from binance_airflow.warehouse.schema import create_warehouse

    admin = json.dumps({"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "password": ""})
    monkeypatch_module.setenv("AIRFLOW_CONN_ROLES_TEST_ADMIN", admin)
    with root() as conn:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {OTHER}")
        conn.cursor().execute(f"CREATE TABLE IF NOT EXISTS {OTHER}.t (a INT)")
    create_warehouse(DATABASE, conn_id="roles_test_admin")
    hook = MySqlHook(mysql_conn_id="roles_test_admin", schema=DATABASE)
    ensure_users(hook, DATABASE, WRITER, READER)
    ensure_users(hook, DATABASE, WRITER, READER)  # idempotent
    yield
    with root() as conn:
        for statement in (
            f"DROP DATABASE {DATABASE}",
            f"DROP DATABASE {OTHER}",
            f"DROP USER '{WRITER.user}'@'%'",
            f"DROP USER '{READER.user}'@'%'",
        ):
            conn.cursor().execute(statement)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_writer_does_everything_inside_the_warehouse_and_nothing_outside(roles: None, tmp_path: Path):
    with as_user(WRITER, local_infile=1) as conn:
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE scratch (a INT)")
        cursor.execute("INSERT INTO scratch VALUES (1)")
        (tmp_path / "rows.csv").write_text("2\n")
        cursor.execute(f"LOAD DATA LOCAL INFILE '{tmp_path / 'rows.csv'}' INTO TABLE scratch")
        cursor.execute("SELECT SUM(a) FROM scratch")
        assert cursor.fetchone()[0] == 3
        cursor.execute("DROP TABLE scratch")
        assert "denied" in denied(conn, f"INSERT INTO {OTHER}.t VALUES (1)")
        assert "denied" in denied(conn, f"SELECT * FROM {OTHER}.t")
        assert "denied" in denied(conn, "CREATE DATABASE binance_roles_new_test")
        assert "denied" in denied(conn, "SELECT user FROM mysql.user")
        assert "denied" in denied(conn, f"GRANT SELECT ON {DATABASE}.* TO '{READER.user}'@'%'")


def test_the_reader_reads_facts_dimensions_and_views_and_writes_nothing(roles: None):
    with as_user(READER) as conn:
        cursor = conn.cursor()
        for name in readable_objects():
            cursor.execute(f"SELECT COUNT(*) FROM `{name}`")
        assert {"fact_kline", "dim_symbol", "v_daily_ohlcv", "v_portfolio_value"} <= set(readable_objects())
        assert "denied" in denied(conn, "SELECT * FROM etl_run_log")  # the ETL's bookkeeping is not BI's
        assert "denied" in denied(
            conn,
            "INSERT INTO dim_symbol (symbol, base_asset, quote_asset, status) VALUES ('XUSDT', 'X', 'USDT', 'TRADING')",
        )
        assert "denied" in denied(conn, "UPDATE fact_kline SET `close` = 1")
        assert "denied" in denied(conn, "DELETE FROM fact_balance")
        assert "denied" in denied(conn, "DROP TABLE fact_kline")
        assert "denied" in denied(conn, "CREATE TABLE scratch (a INT)")
        assert "denied" in denied(conn, f"SELECT * FROM {OTHER}.t")


def test_the_read_only_connection_refuses_load_data_local_infile(
    roles: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """A (malicious or compromised) server may answer any query with a request for a local file; the
    dashboard's connection must refuse it. The MariaDB client allows it unless told not to, even without
    MySqlHook's local_infile."""
    from binance_airflow.warehouse.connection import reader_hook

    reader = {
        "conn_type": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "login": "root",
        "password": "",
        "schema": DATABASE,
    }
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_WAREHOUSE_READER", json.dumps(reader))  # root: only the client refuses
    secret = tmp_path / "secret.txt"
    secret.write_text("api-secret\n")
    with reader_hook().get_conn() as conn, pytest.raises(MySQLdb.OperationalError, match="local infile"):
        conn.cursor().execute(f"LOAD DATA LOCAL INFILE '{secret}' INTO TABLE etl_reject")
    with MySqlHook(mysql_conn_id="binance_warehouse_reader").get_conn() as conn:  # the provider's default
        cursor = conn.cursor()
        cursor.execute("CREATE TEMPORARY TABLE leak (line VARCHAR(100))")
        cursor.execute(f"LOAD DATA LOCAL INFILE '{secret}' INTO TABLE leak")
        cursor.execute("SELECT line FROM leak")
        assert cursor.fetchone() == ("api-secret",)  # why reader_hook must say no explicitly
