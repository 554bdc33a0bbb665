"""Bulk, transactional upserts of staging CSVs into MySQL through MySqlHook and LOAD DATA LOCAL INFILE."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import MySQLdb
from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from include import settings

if TYPE_CHECKING:
    from binance_airflow.tables import Table

log = logging.getLogger(__name__)


class StagingFileError(Exception):
    """A staging CSV does not load cleanly (edited, truncated or corrupt); nothing was written."""


@dataclass
class LoadResult:
    """Rows of one load: ``rows_in`` = ``inserted`` (new keys) + ``updated`` (a value changed) + ``unchanged``."""

    table: str
    rows_in: int
    inserted: int
    updated: int
    unchanged: int = 0
    rejects: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add(self, other: LoadResult) -> None:
        """Count ``other``'s rows in too (several batches of one table)."""
        for name in ("rows_in", "inserted", "updated", "unchanged", "rejects"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def database() -> str:
    """The warehouse database: ``BINANCE_ETL_WAREHOUSE_DB`` when set, else the warehouse connection's schema,
    else ``binance_dw``. Read when a task runs, so every task of a run agrees with its worker's settings."""
    override = os.environ.get(settings.WAREHOUSE_DATABASE_ENV)
    if override:
        return override
    return BaseHook.get_connection(settings.WAREHOUSE_CONN_ID).schema or settings.DEFAULT_WAREHOUSE_DATABASE


# For the SQL operators' templated ``database``: every DAG that uses them registers this macro.
MACROS = {"warehouse_database": database}
DATABASE_TEMPLATE = "{{ warehouse_database() }}"


def warehouse_hook(database_name: str | None = None, conn_id: str = settings.WAREHOUSE_CONN_ID) -> MySqlHook:
    """MySqlHook on the warehouse connection (its database unless ``database_name`` is given), LOAD DATA enabled:
    the writer's, for the loads."""
    return MySqlHook(mysql_conn_id=conn_id, schema=database_name or database(), local_infile=True)


class ReadOnlyHook(MySqlHook):
    """MySqlHook whose connections refuse the server's requests for local files.

    MySqlHook only ever turns ``local_infile`` on; left alone, the MariaDB client library allows it, so a
    malicious or compromised server could read any file the process can. Here it is switched off.
    """

    def _get_conn_config_mysql_client(self, conn: Any) -> dict[str, Any]:
        return {**super()._get_conn_config_mysql_client(conn), "local_infile": 0}


def reader_hook() -> ReadOnlyHook:
    """The dashboard's hook: the reader connection (``binance_warehouse_reader``; the warehouse connection when
    it is not defined), on the warehouse database, refusing LOAD DATA LOCAL INFILE."""
    try:
        BaseHook.get_connection(settings.WAREHOUSE_READER_CONN_ID)
        conn_id = settings.WAREHOUSE_READER_CONN_ID
    except AirflowNotFoundException:
        conn_id = settings.WAREHOUSE_CONN_ID
    return ReadOnlyHook(mysql_conn_id=conn_id, schema=database())


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
    ("etl_run_log", "unchanged", "INT NOT NULL DEFAULT 0 AFTER updated"),
    ("etl_reject", "batch", "VARCHAR(128) NOT NULL DEFAULT 'load' AFTER table_name"),
)


def upgrade_schema(name: str, conn_id: str = settings.WAREHOUSE_CONN_ID) -> list[str]:
    """Add any of ``ADDED_COLUMNS`` an existing warehouse lacks; returns what was added."""
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
    return added


@contextmanager
def transaction(hook: MySqlHook) -> Iterator[Any]:
    """A cursor inside one transaction: committed when the block ends, rolled back when it raises."""
    conn = hook.get_conn()
    try:
        conn.autocommit(False)
        yield conn.cursor()
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


_LOAD = (
    "LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
    "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES ({cols})"
)


# MariaDB errors after which the whole transaction was rolled back and running it again can succeed.
LOCK_CONFLICTS = {1213: "deadlock", 1205: "lock wait timeout"}
LOCK_RETRIES = 3


def upsert_csv(
    hook: MySqlHook, table: Table, csv_path: Path, expected_rows: int, run_id: str, rejects: int = 0
) -> LoadResult:
    """Upsert ``csv_path`` (``table``'s staged columns) into ``table`` in one transaction, ``LOAD DATA LOCAL INFILE``.

    Fast path: the file is loaded straight into ``table``; when every row is new and clean, that is the
    load. Otherwise (a key already present, a warning) it is rolled back and the file goes through a
    temporary copy of ``table``, is checked, and is upserted set-based. Fails with StagingFileError,
    leaving ``table`` untouched, when the file does not hold exactly ``expected_rows`` clean rows.
    Records the load in ``etl_run_log`` (one row per run, table and staging file; a retried load
    replaces its row, so nothing is counted twice) in the same transaction. A transaction MariaDB rolls
    back on a lock conflict with another writer (a deadlock, a lock wait timeout) is run again, up to
    ``LOCK_RETRIES`` times.
    """
    attempt = 0
    while True:
        try:
            return _upsert_csv_once(hook, table, csv_path, expected_rows, run_id, rejects)
        except MySQLdb.OperationalError as err:
            conflict = LOCK_CONFLICTS.get(err.args[0])
            attempt += 1
            if conflict is None or attempt > LOCK_RETRIES:
                raise
            log.warning("%s: %s with another writer, transaction rolled back; loading it again (%d of %d)",
                        csv_path.name, conflict, attempt, LOCK_RETRIES)  # fmt: skip
            time.sleep(attempt * random.uniform(0.5, 1.5))


def _upsert_csv_once(
    hook: MySqlHook, table: Table, csv_path: Path, expected_rows: int, run_id: str, rejects: int
) -> LoadResult:
    started = _now()
    name, columns = table.name, table.columns
    cols = ", ".join(f"`{c}`" for c in columns)
    with transaction(hook) as cur:
        cur.execute(_LOAD.format(table=name, cols=cols), (str(csv_path),))
        if _load_info(cur) == {"Records": expected_rows, "Deleted": 0, "Skipped": 0, "Warnings": 0}:
            inserted, updated = expected_rows, 0
        else:
            cur.connection.rollback()
            inserted, updated = _upsert_via_stage(cur, table, csv_path, expected_rows)
        result = LoadResult(name, expected_rows, inserted, updated, expected_rows - inserted - updated, rejects)
        cur.execute(
            "REPLACE INTO etl_run_log (dag_run_id, table_name, batch, rows_in, inserted, updated, unchanged, rejects, "
            "started_at, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, name, csv_path.name, expected_rows, inserted, updated, result.unchanged, rejects, started,
             _now()),
        )  # fmt: skip
    log.info("%s: %d rows in, %d inserted, %d updated, %d unchanged, %d rejects", name, expected_rows, inserted,
             updated, result.unchanged, rejects)  # fmt: skip
    return result


def _load_info(cur: Any) -> dict[str, int]:
    """``Records: 3  Deleted: 0  Skipped: 0  Warnings: 0`` of the last LOAD DATA, as a dict."""
    words = (cur.connection.info() or "").replace(":", "").split()
    return {name: int(value) for name, value in zip(words[::2], words[1::2], strict=False)}


def _upsert_via_stage(cur: Any, spec: Table, csv_path: Path, expected_rows: int) -> tuple[int, int]:
    """Load into a temporary copy of the table, check it, upsert it; return how many rows were new and changed."""
    table, columns, key = spec.name, spec.columns, spec.key
    stage = f"stg_{table}"
    cols = ", ".join(f"`{c}`" for c in columns)
    join = " AND ".join(f"s.`{c}` = t.`{c}`" for c in key)
    cur.execute(f"DROP TEMPORARY TABLE IF EXISTS `{stage}`")
    cur.execute(f"CREATE TEMPORARY TABLE `{stage}` LIKE `{table}`")
    cur.execute(_LOAD.format(table=stage, cols=cols), (str(csv_path),))
    cur.execute("SHOW WARNINGS LIMIT 3")
    warnings = cur.fetchall()
    cur.execute(f"SELECT COUNT(*) FROM `{stage}`")
    loaded = cur.fetchone()[0]
    if warnings or loaded != expected_rows:
        detail = "; ".join(str(w[2]) for w in warnings) or "no warnings"
        raise StagingFileError(
            f"{csv_path.name}: {loaded} rows read, {expected_rows} expected ({detail}); "
            f"{table} left unchanged - re-run the transform to rebuild the file"
        )
    same = " AND ".join(f"s.`{c}` <=> t.`{c}`" for c in columns if c not in key) or "TRUE"
    cur.execute(
        f"SELECT COALESCE(SUM(t.`{key[0]}` IS NULL), 0), COALESCE(SUM(t.`{key[0]}` IS NOT NULL AND NOT ({same})), 0) "
        f"FROM `{stage}` s LEFT JOIN `{table}` t ON {join}"
    )
    inserted, updated = (int(n) for n in cur.fetchone())
    cur.execute(f"INSERT INTO `{table}` ({cols}) SELECT {cols} FROM `{stage}` {_on_duplicate(spec)}")
    cur.execute(f"DROP TEMPORARY TABLE `{stage}`")
    return inserted, updated


def _on_duplicate(spec: Table) -> str:
    """The upsert's ``ON DUPLICATE KEY UPDATE`` clause: every non-key column takes the new value."""
    updates = [f"`{c}` = VALUES(`{c}`)" for c in spec.columns if c not in spec.key]
    return "ON DUPLICATE KEY UPDATE " + (", ".join(updates) or f"`{spec.key[0]}` = `{spec.key[0]}`")


def upsert_rows(cur: Any, spec: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Upsert a few ``rows`` (``spec``'s columns) with one multi-row INSERT: the same key and update as the bulk
    path, for the real-time stream's small, frequent batches (inside the caller's transaction)."""
    if rows:
        cols = ", ".join(f"`{c}`" for c in spec.columns)
        marks = ", ".join(["%s"] * len(spec.columns))
        cur.executemany(f"INSERT INTO `{spec.name}` ({cols}) VALUES ({marks}) {_on_duplicate(spec)}", rows)


def record_rejects(
    hook: MySqlHook,
    run_id: str,
    table: str,
    rejects: Sequence[Sequence[Any]],
    batch: str = "load",
    replace: bool = True,
) -> None:
    """Record rejects (symbol, interval, open_time_ms, reason, raw) of ``batch`` for ``table`` in etl_reject;
    ``replace`` first drops what this run recorded for that batch, so a retried step does not count twice."""
    with transaction(hook) as cur:
        if replace:
            cur.execute(
                "DELETE FROM etl_reject WHERE dag_run_id = %s AND table_name = %s AND batch = %s",
                (run_id, table, batch),
            )
        cur.executemany(
            "INSERT INTO etl_reject (dag_run_id, table_name, batch, symbol, `interval`, open_time_ms, reason, raw) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, table, batch, *row) for row in rejects],
        )
