"""Publishing a table: its Asset event, emitted only after the table's gates passed and when the run changed it.

Downstream DAGs scheduled on a table's Asset (``tables.TABLES[name].asset``) therefore never start on data a
gate then fails, nor on a run (or an inbox file) that changed nothing.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import task
from airflow.sdk.exceptions import AirflowSkipException

from binance_airflow.warehouse.tables import Table
from include import task_ids


def publish(table: Table) -> Any:
    """A ``publish_<table>`` task taking the run's load results (dicts with ``table``, ``inserted``, ``updated``)."""

    doc = f"Emits the `{table.asset.name}` Asset once the gates passed, if this run changed `{table.name}`."

    @task(task_id=task_ids.publish(table.name), outlets=[table.asset], doc_md=doc)
    def publish_table(results: list[dict[str, Any] | None], outlet_events: Any = None) -> dict[str, Any]:
        changed = sum(r["inserted"] + r["updated"] for r in results[:] if r and r.get("table") == table.name)
        if not changed:
            raise AirflowSkipException(f"{table.name} unchanged by this run: no Asset event")
        outlet_events[table.asset].extra = {"rows_changed": changed}
        return {"table": table.name, "rows_changed": changed}

    return publish_table
