"""Task defaults shared by this package's DAGs: retries with doubling delay, failures posted to the webhook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from binance_airflow.etl.notify import task_failed
from include import settings


def default_args(retries: int = 2) -> dict[str, Any]:
    return {
        "retries": retries,
        "retry_delay": timedelta(seconds=settings.RETRY_DELAY_S),
        "retry_exponential_backoff": True,
        "on_failure_callback": task_failed,
    }
