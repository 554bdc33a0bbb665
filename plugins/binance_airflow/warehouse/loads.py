"""Writing the warehouse: transactional bulk upserts of staging CSVs (LOAD DATA LOCAL INFILE), small upserts for the
stream, rejects; each load logged in etl_run_log in its own transaction."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import MySQLdb
from airflow.providers.mysql.hooks.mysql import MySqlHook

from binance_airflow.warehouse import summaries
from binance_airflow.warehouse.connection import transaction
from binance_airflow.warehouse.tables import Table
from include.transforms.staging import NULL

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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


_LOAD = (
    "LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
    "OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES ({cols})"
)


# MariaDB errors after which the whole transaction was rolled back and running it again can succeed.
LOCK_CONFLICTS = {1213: "deadlock", 1205: "lock wait timeout"}
LOCK_RETRIES = 3


Also = Callable[[Any, "LoadResult"], None]  # more writes in the load's transaction: (cursor, the load's result)


def upsert_csv(
    hook: MySqlHook,
    table: Table,
    csv_path: Path,
    expected_rows: int,
    run_id: str,
    rejects: int = 0,
    also: Also | None = None,
) -> LoadResult:
    """Upsert ``csv_path`` (``table``'s staged columns) into ``table`` in one transaction, ``LOAD DATA LOCAL INFILE``.

    Fast path: the file is loaded straight into ``table``; when every row is new and clean, that is the
    load. Otherwise (a key already present, a warning) it is rolled back and the file goes through a
    temporary copy of ``table``, is checked, and is upserted set-based. Fails with StagingFileError,
    leaving ``table`` untouched, when the file does not hold exactly ``expected_rows`` clean rows.
    Records the load in ``etl_run_log`` (one row per run, table and staging file; a retried load
    replaces its row, so nothing is counted twice) in the same transaction. A transaction MariaDB rolls
    back on a lock conflict with another writer (a deadlock, a lock wait timeout) is run again, up to
    ``LOCK_RETRIES`` times. ``also`` writes more (an import's log and watermark) in that same transaction, as
    do fact_kline's summaries of the days the file touches (a new day from the file's aggregates on the fast path,
    recomputed from the table otherwise).
    """
    staged = summaries.read_staged(csv_path) if table.name == summaries.SOURCE else None
    attempt = 0
    while True:
        try:
            return _upsert_csv_once(hook, table, csv_path, expected_rows, run_id, rejects, also, staged)
        except MySQLdb.OperationalError as err:
            conflict = LOCK_CONFLICTS.get(err.args[0])
            attempt += 1
            if conflict is None or attempt > LOCK_RETRIES:
                raise
            log.warning(
                "%s: %s with another writer, transaction rolled back; loading it again (%d of %d)",
                csv_path.name,
                conflict,
                attempt,
                LOCK_RETRIES,
            )
            time.sleep(attempt * random.uniform(0.5, 1.5))


def _upsert_csv_once(
    hook: MySqlHook,
    table: Table,
    csv_path: Path,
    expected_rows: int,
    run_id: str,
    rejects: int,
    also: Also | None,
    staged: summaries.Staged | None,
) -> LoadResult:
    started = _now()
    name, columns = table.name, table.columns
    cols = ", ".join(f"`{c}`" for c in columns)
    with transaction(hook) as cur:
        cur.execute(_LOAD.format(table=name, cols=cols), (str(csv_path),))
        if _load_info(cur) == {"Records": expected_rows, "Deleted": 0, "Skipped": 0, "Warnings": 0}:
            inserted, updated = expected_rows, 0
            if staged:  # every candle new: days not summarised yet come from the file's aggregates
                summaries.refresh_new(cur, staged)
        else:
            cur.connection.rollback()
            inserted, updated = _upsert_via_stage(cur, table, csv_path, expected_rows)
            if staged:  # candles replaced: their days recomputed from the table
                summaries.refresh(cur, staged.spans)
        result = LoadResult(name, expected_rows, inserted, updated, expected_rows - inserted - updated, rejects)
        cur.execute(
            "REPLACE INTO etl_run_log (dag_run_id, table_name, batch, rows_in, inserted, updated, unchanged, rejects, "
            "started_at, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, name, csv_path.name, expected_rows, inserted, updated, result.unchanged, rejects, started, _now()),
        )
        if also is not None:
            also(cur, result)
    log.info(
        "%s: %d rows in, %d inserted, %d updated, %d unchanged, %d rejects",
        name,
        expected_rows,
        inserted,
        updated,
        result.unchanged,
        rejects,
    )
    return result


def _load_info(cur: Any) -> dict[str, int]:
    """``Records: 3  Deleted: 0  Skipped: 0  Warnings: 0`` of the last LOAD DATA, as a dict."""
    words = (cur.connection.info() or "").replace(":", "").split()
    return {name: int(value) for name, value in zip(words[::2], words[1::2], strict=False)}


def _stage_copy(cur: Any, spec: Table, csv_path: Path, expected_rows: int) -> str:
    """Load ``csv_path`` into a temporary copy of the table, checked to hold exactly ``expected_rows`` clean rows;
    returns the copy's name."""
    table, cols = spec.name, ", ".join(f"`{c}`" for c in spec.columns)
    stage = f"stg_{table}"
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
    return stage


def _same(spec: Table) -> str:
    """SQL: the staged row ``s`` equals the table's row ``t`` in every non-key column."""
    return " AND ".join(f"s.`{c}` <=> t.`{c}`" for c in spec.columns if c not in spec.key) or "TRUE"


# A staged file is joined to its table row by row through the table's key, whatever the table's statistics say (a
# new or just restarted server's may call a table of millions empty, and the join would scan it once per row).
BY_KEY = "FORCE INDEX (PRIMARY)"


def _upsert_via_stage(cur: Any, spec: Table, csv_path: Path, expected_rows: int) -> tuple[int, int]:
    """Load into a temporary copy of the table, check it, upsert it; return how many rows were new and changed."""
    table, columns, key = spec.name, spec.columns, spec.key
    cols = ", ".join(f"`{c}`" for c in columns)
    join = " AND ".join(f"s.`{c}` = t.`{c}`" for c in key)
    stage = _stage_copy(cur, spec, csv_path, expected_rows)
    same = _same(spec)
    cur.execute(
        f"SELECT COALESCE(SUM(t.`{key[0]}` IS NULL), 0), COALESCE(SUM(t.`{key[0]}` IS NOT NULL AND NOT ({same})), 0) "
        f"FROM `{stage}` s LEFT JOIN `{table}` t {BY_KEY} ON {join}"
    )
    inserted, updated = (int(n) for n in cur.fetchone())
    cur.execute(f"INSERT INTO `{table}` ({cols}) SELECT {cols} FROM `{stage}` {_on_duplicate(spec)}")
    cur.execute(f"DROP TEMPORARY TABLE `{stage}`")
    return inserted, updated


@dataclass
class Comparison:
    """A staging file against the table: rows whose key it lacks, and rows whose key it holds with other values
    (each as ``(staged row, the table's row)``, in ``Table.columns`` order)."""

    missing: int
    differing: list[tuple[tuple[Any, ...], tuple[Any, ...]]]


def compare_staged(hook: MySqlHook, spec: Table, csv_path: Path, expected_rows: int) -> Comparison:
    """``csv_path`` compared with ``spec``'s table, key by key (read only: nothing is written)."""
    cols = ", ".join(f"s.`{c}`" for c in spec.columns) + ", " + ", ".join(f"t.`{c}`" for c in spec.columns)
    join = " AND ".join(f"s.`{c}` = t.`{c}`" for c in spec.key)
    with transaction(hook) as cur:
        stage = _stage_copy(cur, spec, csv_path, expected_rows)
        cur.execute(
            f"SELECT COUNT(*) FROM `{stage}` s LEFT JOIN `{spec.name}` t {BY_KEY} ON {join} "
            f"WHERE t.`{spec.key[0]}` IS NULL"
        )
        missing = int(cur.fetchone()[0])
        cur.execute(
            f"SELECT STRAIGHT_JOIN {cols} FROM `{stage}` s JOIN `{spec.name}` t {BY_KEY} ON {join} "
            f"WHERE NOT ({_same(spec)})"
        )
        width = len(spec.columns)
        differing = [(tuple(row[:width]), tuple(row[width:])) for row in cur.fetchall()]
        cur.execute(f"DROP TEMPORARY TABLE `{stage}`")
    return Comparison(missing, differing)


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
        if spec.name == summaries.SOURCE:
            summaries.upserted_rows(cur, rows)


def insert_new(hook: MySqlHook, spec: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Insert the ``rows`` (``spec``'s columns, as a staging CSV holds them) whose key ``spec``'s table lacks; the
    others stay."""
    cols = ", ".join(f"`{c}`" for c in spec.columns)
    marks = ", ".join(["%s"] * len(spec.columns))
    with transaction(hook) as cur:
        cur.executemany(
            f"INSERT IGNORE INTO `{spec.name}` ({cols}) VALUES ({marks})",
            [[None if v == NULL else v for v in row] for row in rows],
        )
        if spec.name == summaries.SOURCE:
            summaries.refresh_rows(cur, rows)


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
