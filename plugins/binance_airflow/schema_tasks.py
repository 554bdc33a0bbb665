"""The warehouse set-up every DAG runs first: create the database, apply include/sql, add newer columns."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import task

from binance_airflow.tables import SCHEMA_FILES
from binance_airflow.warehouse import DATABASE_TEMPLATE, database, ensure_database, upgrade_schema, warehouse_hook
from include import settings


def create_warehouse(name: str | None = None, conn_id: str = settings.WAREHOUSE_CONN_ID) -> None:
    """The whole warehouse outside Airflow (benchmarks, tests, warehouse_roles): database, ``include/sql``
    DDL, newer columns, through ``conn_id``.

    The DAGs do the same in three tasks (``warehouse_schema``) so each step shows in the UI.
    """
    name = name or database()
    ensure_database(name, conn_id)
    hook = warehouse_hook(name, conn_id)
    for file in SCHEMA_FILES:
        hook.run((settings.SQL_DIR / file).read_text(), split_statements=True)
    upgrade_schema(name, conn_id)


def warehouse_schema() -> Any:
    """``create_database >> create_schema >> upgrade_warehouse``; returns the last task to wait on.

    The DAG must register ``warehouse.MACROS`` (the operators' database is rendered when they run).
    """

    @task
    def create_database() -> None:
        """Create the warehouse database (the connection's schema) if it is missing."""
        ensure_database(database())

    @task
    def upgrade_warehouse() -> list[str]:
        """Add columns introduced since an existing warehouse was created (e.g. `source`)."""
        return upgrade_schema(database())

    create_schema = SQLExecuteQueryOperator(
        task_id="create_schema",
        conn_id=settings.WAREHOUSE_CONN_ID,
        database=DATABASE_TEMPLATE,
        sql=list(SCHEMA_FILES),  # a copy: rendering replaces the names with the file contents
        split_statements=True,
        doc_md="Applies `include/sql/*.sql` (CREATE TABLE IF NOT EXISTS, CREATE OR REPLACE VIEW).",
    )
    return create_database() >> create_schema >> upgrade_warehouse()
