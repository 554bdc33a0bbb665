"""Notifications (the old tMessageBox): a webhook notifier, the task-failure callback, and the run report posted."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from airflow.providers.http.notifications.http import HttpNotifier
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from binance_airflow.etl import report
from binance_airflow.warehouse.tables import LOADED
from include import settings, task_ids

log = logging.getLogger(__name__)

TASK_FAILED = {
    "event": "task_failed",
    "dag_id": "{{ dag.dag_id }}",
    "dag_run_id": "{{ run_id }}",
    "task_id": "{{ ti.task_id }}",
    "map_index": "{{ ti.map_index }}",
    "try_number": "{{ ti.try_number }}",
    "error": "{{ exception | string | truncate(2000) }}",
}


class WebhookNotifier(HttpNotifier):
    """POSTs JSON to the ``binance_notify`` http connection; does nothing when that connection is not defined."""

    def __init__(self, **kwargs: Any):
        super().__init__(http_conn_id=settings.NOTIFY_CONN_ID, extra_options={"timeout": 10}, **kwargs)

    def notify(self, context: Any) -> None:
        try:
            BaseHook.get_connection(self.http_conn_id)
        except AirflowNotFoundException:
            log.info("no %s connection: webhook notification skipped", self.http_conn_id)
            return
        super().notify(context)


def task_failed(context: Any) -> None:
    """on_failure_callback: post which task failed and why (a fresh notifier per call: rendering mutates it)."""
    WebhookNotifier(json=dict(TASK_FAILED))(context)


def notify_run(context: Any, folder: Path | None) -> dict[str, Any]:
    """Summarise the run from the load tasks' XComs, the reconciliation and the task states; log, post, clean up
    (``folder`` is None when ``plan`` failed before fixing it)."""
    ti, dag_run = context["ti"], context["dag_run"]
    loads = [x for x in (ti.xcom_pull(task_ids=task_ids.load(t.name)) for t in LOADED) if x]
    reconciled = ti.xcom_pull(task_ids=task_ids.RECONCILE, key="report")
    instances = ti.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id]).get(dag_run.run_id, {})
    states = report.per_task(instances, set(context["dag"].task_ids))
    states.pop(ti.task_id, None)
    window = ti.xcom_pull(task_ids=task_ids.PLAN, key="window") or {}
    summary = report.summarise(
        dag_run.run_id, loads, states, reconciled, window.get("symbols"), window.get("not_trading")
    )
    log.info("\n%s", report.format_summary(summary))
    WebhookNotifier(json=summary).notify(context)
    if folder is not None:
        report.clean_staging(folder, summary["status"] == "success")
    if summary["status"] != "success":
        raise RuntimeError(f"binance_etl run failed: {', '.join(summary['failed_tasks'] or ['see the log'])}")
    return summary
