"""The bulk upsert against the real MariaDB: idempotent, logged once per batch, all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import MySQLdb
import pytest

from binance_airflow.warehouse import StagingFileError, upsert_csv, warehouse_hook
from include import settings
from include.transforms import dim_date
from include.transforms.staging import write_csv
from tests.conftest import WAREHOUSE_DB

DAY_MS = 1_704_067_200_000  # 2024-01-01T00:00Z


@pytest.fixture
def schema() -> Iterator[MySQLdb.Connection]:
    """A fresh warehouse database with the project's DDL applied."""
    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", autocommit=True)
    cur = conn.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB}")
    cur.execute(f"CREATE DATABASE {WAREHOUSE_DB}")
    for name in settings.SCHEMA_FILES:
        warehouse_hook().run((settings.SQL_DIR / name).read_text(), split_statements=True)
    conn.select_db(WAREHOUSE_DB)
    yield conn
    conn.close()


def rows(conn: MySQLdb.Connection, sql: str) -> list[tuple]:
    cur = conn.cursor()
    cur.execute(sql)
    return list(cur.fetchall())


def load_dates(path: Path, hours: int, run_id: str = "run-1") -> tuple[int, int]:
    written = write_csv(path, dim_date.COLUMNS, dim_date.hours(DAY_MS, DAY_MS + hours * 3_600_000))
    result = upsert_csv(warehouse_hook(), "dim_date", path, dim_date.COLUMNS, ("date_key",), written, run_id)
    return result.inserted, result.updated


def test_reloading_a_batch_changes_nothing_and_logs_it_once(schema: MySQLdb.Connection, tmp_path: Path):
    path = tmp_path / "dim_date.csv"
    assert load_dates(path, 24) == (24, 0)
    assert load_dates(path, 24) == (0, 24)  # a task retry after the commit
    assert rows(schema, "SELECT COUNT(*) FROM dim_date") == [(24,)]
    assert rows(schema, "SELECT batch, rows_in, inserted, updated FROM etl_run_log") == [("dim_date.csv", 24, 0, 24)]
    assert load_dates(path, 30, "run-2") == (6, 24)
    assert rows(schema, "SELECT COUNT(*) FROM dim_date") == [(30,)]


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
        upsert_csv(warehouse_hook(), "dim_date", path, dim_date.COLUMNS, ("date_key",), written, "run-2")
    assert rows(schema, "SELECT COUNT(*) FROM dim_date") == [(12,)]
    assert rows(schema, "SELECT COUNT(*) FROM etl_run_log WHERE dag_run_id = 'run-2'") == [(0,)]
