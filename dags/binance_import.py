"""binance_import: other systems' data into the same warehouse tables - the Talend project's database and files,
other databases, other warehouses - driven by source specs (include/imports/presets.yaml and the
`binance_import_sources` Variable; docs/imports.md).

plan (the named sources and groups as checked specs) → stage each source (read it whole - files under
`BINANCE_ETL_IMPORT_ROOT`, or a table or query of any common.sql connection through a server-side cursor -
normalise numbers, times and symbols as its spec says, validate with the API path's rules; klines are claims
Binance confirms: its exact candles are what is staged) → load (dimensions, then the rows in one transaction
with the import log and the source's watermark; rows conflicting with the warehouse's per policy) → gate (every
loaded row is in the warehouse as staged) → publish (each changed table's Asset) → report (per source and
symbol: read, equal, corrected, not served, still open, rejected).

Trigger it with `sources` (names or groups) and, for sources whose spec leaves them open, `conn_id` (the source
database), `captured_at` (the capture time of balances that carry none) and `exported_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from binance_airflow.etl.dag_defaults import default_args
from binance_airflow.etl.notify import WebhookNotifier
from binance_airflow.etl.report import per_task
from binance_airflow.imports import steps
from binance_airflow.imports.sources import SourceUnreadable
from binance_airflow.warehouse.connection import MACROS
from binance_airflow.warehouse.publish import publish
from binance_airflow.warehouse.schema import warehouse_schema
from binance_airflow.warehouse.tables import TABLES
from include import settings
from include.imports.spec import FIELDS, SpecError


@dag(
    dag_id=steps.DAG_ID,
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    template_searchpath=[str(settings.SQL_DIR)],
    user_defined_macros=MACROS,
    default_args=default_args(retries=1),
    params={
        "sources": Param([], type="array", items={"type": "string"}, description="source or group names"),
        "conn_id": Param("", type="string", description="the source database's connection, for specs naming none"),
        "captured_at": Param("", type="string", description="ISO datetime with offset: when balances were read"),
        "exported_at": Param("", type="string", description="ISO datetime with offset: when the source was written"),
    },
    doc_md=__doc__,
    tags=["binance", "import"],
)
def binance_import() -> None:
    @task
    def plan(params: Any = None) -> list[dict[str, Any]]:
        """The sources to import, checked: a bad name or spec fails here, before anything is read."""
        overrides = {"connection": params["conn_id"], "captured_at": params["captured_at"]}
        try:
            return steps.plan(list(params["sources"]), overrides | {"exported_at": params["exported_at"]})
        except (SpecError, ValueError) as err:
            raise AirflowFailException(str(err)) from None

    @task(
        max_active_tis_per_dagrun=2,
        doc_md="Read one source whole, normalise and validate it, confirm its candles with Binance; stage CSVs.",
    )
    def stage_source(raw_spec: dict[str, Any], run_id: Any = None) -> dict[str, Any]:
        try:
            return steps.stage(raw_spec, run_id)
        except (SourceUnreadable, SpecError) as err:  # the source itself: reading it again would not help
            raise AirflowFailException(str(err)) from None

    @task(
        max_active_tis_per_dagrun=1,
        doc_md="Dimensions, then the source's rows with its log and watermark, in one transaction.",
    )
    def load_source(staged: dict[str, Any], run_id: Any = None) -> dict[str, Any]:
        return steps.load(staged, run_id)

    @task(doc_md="Gate: every row the load kept is in the warehouse with exactly the staged values.")
    def check_source(loaded: dict[str, Any]) -> dict[str, Any]:
        return steps.check(loaded)

    @task(trigger_rule="all_done", retries=0, on_failure_callback=None)
    def report(loads: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
        """Log and post the import report; fail the run if any source failed."""
        ti, dag_run = context["ti"], context["dag_run"]
        instances = ti.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id]).get(dag_run.run_id, {})
        states = per_task(instances, set(context["dag"].task_ids))
        failed = sorted(t for t, s in states.items() if s in ("failed", "upstream_failed") and t != ti.task_id)
        summary = steps.summary(dag_run.run_id, [load for load in loads[:] if load], failed)
        steps.log.info("\n%s", steps.format_summary(summary))
        WebhookNotifier(json=summary).notify(context)
        if failed:
            raise RuntimeError(f"binance_import run failed: {', '.join(failed)}")
        return summary

    specs = plan()
    warehouse_schema() >> specs
    loaded = load_source.expand(staged=stage_source.expand(raw_spec=specs))
    checked = check_source.expand(loaded=loaded)
    published = [publish(TABLES[target])(loaded) for target in FIELDS]
    checked >> published
    report(loaded) << published


binance_import()
