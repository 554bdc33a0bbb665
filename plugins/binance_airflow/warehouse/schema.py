"""The warehouse's set-up: create the database, apply include/sql's tables, upgrade an existing warehouse in place
(columns and keys newer than it), then the views; outside Airflow in one call, inside every DAG as four tasks."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import task

from binance_airflow.warehouse import summaries
from binance_airflow.warehouse.connection import DATABASE_TEMPLATE, database, warehouse_hook
from binance_airflow.warehouse.lineage import WarehouseQuery
from binance_airflow.warehouse.tables import TABLE_FILES, VIEW_FILES
from include import settings

log = logging.getLogger(__name__)


def ensure_database(name: str, conn_id: str = settings.WAREHOUSE_CONN_ID) -> None:
    """CREATE DATABASE IF NOT EXISTS (connecting through information_schema, which always exists)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"invalid warehouse database name {name!r}: use letters, digits and underscores")
    hook = warehouse_hook("information_schema", conn_id)
    hook.run(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")


# Columns added after the first release: CREATE TABLE IF NOT EXISTS leaves older tables without them.
ADDED_COLUMNS = (
    ("fact_kline", "source", "VARCHAR(128) NOT NULL DEFAULT 'binance_api'"),
    ("fact_balance", "source", "VARCHAR(128) NOT NULL DEFAULT 'binance_api'"),
    ("fact_ticker_24hr", "source", "VARCHAR(128) NOT NULL DEFAULT 'binance_api'"),
    ("fact_balance", "account", f"VARCHAR(64) NOT NULL DEFAULT '{settings.DEFAULT_ACCOUNT}' FIRST"),
    ("etl_run_log", "unchanged", "INT NOT NULL DEFAULT 0 AFTER updated"),
    ("etl_reject", "batch", "VARCHAR(128) NOT NULL DEFAULT 'load' AFTER table_name"),
)


# Primary keys widened after the first release (fact_balance: one snapshot per account, no longer per asset).
WIDENED_KEYS = (("fact_balance", ("account", "asset", "snapshot_time")),)


# Columns made case-sensitive after the first release: `1m` (a minute) and `1M` (a month) must be two keys.
CASE_SENSITIVE_COLUMNS = tuple(
    (table, "interval")
    for table in ("fact_kline", "agg_kline_daily", "agg_kline_series", "kline_gap", "etl_reject", "etl_import_state")
)


def upgrade_schema(name: str, conn_id: str = settings.WAREHOUSE_CONN_ID) -> list[str]:
    """Add any of ``ADDED_COLUMNS`` an existing warehouse lacks, widen its primary keys to ``WIDENED_KEYS``, make
    ``CASE_SENSITIVE_COLUMNS`` binary (a rebuild of each table holding one, once), give
    every account with balances its ``dim_account`` row (the rows from before accounts belong to the default
    account) and build fact_kline's summaries when it has none yet; returns what was changed."""
    hook = warehouse_hook(name, conn_id)
    added = []
    for table, column, definition in ADDED_COLUMNS:
        present = hook.get_first(
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "AND COLUMN_NAME = %s",
            parameters=(name, table, column),
        )[0]
        if not present:
            hook.run(f"ALTER TABLE `{table}` ADD COLUMN `{column}` {definition}")
            log.info("added %s.%s", table, column)
            added.append(f"{table}.{column}")
    for table, key in WIDENED_KEYS:
        current = hook.get_first(
            "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND INDEX_NAME = 'PRIMARY'",
            parameters=(name, table),
        )[0]
        if current != ",".join(key):
            columns = ", ".join(f"`{c}`" for c in key)
            hook.run(f"ALTER TABLE `{table}` DROP PRIMARY KEY, ADD PRIMARY KEY ({columns})")
            log.info("%s: primary key (%s), was (%s)", table, columns, current)
            added.append(f"{table} key ({', '.join(key)})")
    for table, column in CASE_SENSITIVE_COLUMNS:
        kind, nullable, collation = hook.get_first(
            "SELECT COLUMN_TYPE, IS_NULLABLE, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
            "AND TABLE_NAME = %s AND COLUMN_NAME = %s",
            parameters=(name, table, column),
        )
        if collation != "utf8mb4_bin":
            null = "NULL" if nullable == "YES" else "NOT NULL"
            hook.run(f"ALTER TABLE `{table}` MODIFY `{column}` {kind} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin {null}")
            log.info("%s.%s: case-sensitive (utf8mb4_bin), was %s", table, column, collation)
            added.append(f"{table}.{column} binary")
    hook.run(
        "INSERT IGNORE INTO dim_account (account, kind, connection_id) "
        "SELECT DISTINCT account, 'binance', account FROM fact_balance"
    )
    if hook.get_first(f"SELECT NOT EXISTS (SELECT 1 FROM {summaries.SERIES}) AND EXISTS (SELECT 1 FROM fact_kline)")[0]:
        log.info("fact_kline has candles but no summaries (a warehouse from before them): rebuilding them")
        done = summaries.rebuild(hook)
        added.append(f"summaries of {len(done)} series")
    return added


def create_warehouse(name: str | None = None, conn_id: str = settings.WAREHOUSE_CONN_ID) -> None:
    """The whole warehouse outside Airflow (benchmarks, tests, warehouse_roles): database, ``include/sql``
    DDL, newer columns, through ``conn_id``.

    The DAGs do the same in three tasks (``warehouse_schema``) so each step shows in the UI.
    """
    name = name or database()
    ensure_database(name, conn_id)
    hook = warehouse_hook(name, conn_id)
    for file in TABLE_FILES:
        hook.run((settings.SQL_DIR / file).read_text(), split_statements=True)
    upgrade_schema(name, conn_id)
    for file in VIEW_FILES:
        hook.run((settings.SQL_DIR / file).read_text(), split_statements=True)


def warehouse_schema() -> Any:
    """``create_database >> create_schema >> upgrade_warehouse >> create_views``; returns the last task to wait on.

    The DAG must register ``warehouse.MACROS`` (the operators' database is rendered when they run).
    """

    @task
    def create_database() -> None:
        """Create the warehouse database (the connection's schema) if it is missing."""
        ensure_database(database())

    @task
    def upgrade_warehouse() -> list[str]:
        """Add columns and widen keys introduced since an existing warehouse was created (e.g. `source`, `account`)."""
        return upgrade_schema(database())

    def apply(task_id: str, files: tuple[str, ...], doc: str) -> WarehouseQuery:
        return WarehouseQuery(
            task_id=task_id,
            conn_id=settings.WAREHOUSE_CONN_ID,
            database=DATABASE_TEMPLATE,
            sql=list(files),  # a copy: rendering replaces the names with the file contents
            split_statements=True,
            doc_md=doc,
        )

    create_schema = apply("create_schema", TABLE_FILES, "Applies `include/sql/*.sql` (CREATE TABLE IF NOT EXISTS).")
    create_views = apply("create_views", VIEW_FILES, "Applies `include/sql/views/*.sql` (CREATE OR REPLACE VIEW).")
    return create_database() >> create_schema >> upgrade_warehouse() >> create_views
