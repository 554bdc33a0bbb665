"""The run report (the old tMessageBox): task log, optional webhook, staging clean-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.exceptions import AirflowNotFoundException

from binance_airflow import etl_steps as steps
from include import settings

log = logging.getLogger(__name__)


def post_webhook(summary: dict[str, Any]) -> bool:
    """POST the summary as JSON to the ``binance_notify`` connection, when one is defined."""
    hook = HttpHook(method="POST", http_conn_id=settings.NOTIFY_CONN_ID)
    try:
        hook.get_connection(settings.NOTIFY_CONN_ID)
    except AirflowNotFoundException:
        log.info("no %s connection: webhook notification skipped", settings.NOTIFY_CONN_ID)
        return False
    hook.run(json=summary, extra_options={"timeout": 10})
    return True


def notify_run(ti: Any, dag_run: Any, folder: Path, load_tasks: list[str]) -> dict[str, Any]:
    """Summarise the run from the load tasks' XComs and the task states; log, post, clean up."""
    loads = [x for x in (ti.xcom_pull(task_ids=t) for t in load_tasks) if x]
    states = ti.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id]).get(dag_run.run_id, {})
    states = {task.split(".")[0] if isinstance(task, str) else task: state for task, state in states.items()}
    states.pop(ti.task_id, None)
    summary = steps.summarise(dag_run.run_id, loads, states)
    log.info("\n%s", steps.format_summary(summary))
    post_webhook(summary)
    steps.clean_staging(folder, summary["status"] == "success")
    if summary["status"] != "success":
        raise RuntimeError(f"binance_etl run failed: {', '.join(summary['failed_tasks'])}")
    return summary
