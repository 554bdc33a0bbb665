"""The warehouse's connections: which database, the writer's hook (LOAD DATA enabled), the reader's hook (refusing
local files), one transaction, and the macro the SQL operators render the database with."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from include import settings


def database(conn_id: str = settings.WAREHOUSE_CONN_ID) -> str:
    """The warehouse database: ``BINANCE_ETL_WAREHOUSE_DB`` when set, else the schema of the warehouse connection
    (``conn_id``: the writer's, or the reader's where only it is defined), else ``binance_dw``. Read when a task
    runs, so every task of a run agrees with its worker's settings."""
    override = os.environ.get(settings.WAREHOUSE_DATABASE_ENV)
    if override:
        return override
    return BaseHook.get_connection(conn_id).schema or settings.DEFAULT_WAREHOUSE_DATABASE


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
    it is not defined), on its database, refusing LOAD DATA LOCAL INFILE. It needs no other connection: the
    dashboard's process holds the reader's password only."""
    try:
        BaseHook.get_connection(settings.WAREHOUSE_READER_CONN_ID)
        conn_id = settings.WAREHOUSE_READER_CONN_ID
    except AirflowNotFoundException:
        conn_id = settings.WAREHOUSE_CONN_ID
    return ReadOnlyHook(mysql_conn_id=conn_id, schema=database(conn_id))


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
