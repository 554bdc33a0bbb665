"""binance_file_inbox: klines and balances exported to CSV, JSON or XLSX files, into the same warehouse tables.

Every 15 minutes (or on trigger) each file dropped into the inbox (`BINANCE_ETL_INBOX`) is validated
with the API path's rules and loaded whole in one transaction, its rows tagged `source = file:<name>`,
then moved to `processed/`; a file with anything wrong goes to `rejected/` beside a `.reason.txt` and
nothing of it is loaded. Kline files need their symbols in `dim_symbol` (one binance_etl run). A table's
Asset is emitted only when a file the run loaded changed it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import dag, task

from binance_airflow.etl import inbox
from binance_airflow.etl.dag_defaults import default_args
from binance_airflow.etl.notify import WebhookNotifier
from binance_airflow.warehouse.connection import MACROS
from binance_airflow.warehouse.publish import publish
from binance_airflow.warehouse.schema import warehouse_schema
from binance_airflow.warehouse.tables import TABLES
from include import settings


@dag(
    dag_id="binance_file_inbox",
    schedule=timedelta(minutes=15),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    template_searchpath=[str(settings.SQL_DIR)],
    user_defined_macros=MACROS,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["binance", "files"],
)
def binance_file_inbox() -> None:
    @task
    def list_inbox() -> list[str]:
        """Files waiting in the inbox, oldest first."""
        return inbox.pending_files(settings.INBOX_ROOT)

    @task(
        max_active_tis_per_dagrun=2,
        doc_md="Validate one file and load it whole (or reject it with a reason); then file it away.",
    )
    def ingest_file(path: str, run_id: Any = None) -> dict[str, Any]:
        return inbox.ingest(Path(path), run_id)

    @task(trigger_rule="all_done", retries=0, on_failure_callback=None)
    def report(results: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
        """Log and post which files were loaded and which were rejected, and why."""
        summary = inbox.summary(results[:])  # a slice: iterating probes one item too far and logs an error
        WebhookNotifier(json=summary).notify(context)
        return summary

    files = list_inbox()
    warehouse_schema() >> files
    results = ingest_file.expand(path=files)
    published = [publish(TABLES[table])(results) for table in inbox.TARGETS]
    report(results) << published


binance_file_inbox()
