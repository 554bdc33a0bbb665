"""Task defaults shared by this package's DAGs: retries with doubling delay, a time limit, failures posted to the
webhook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from binance_airflow.etl.notify import task_failed
from include import settings

KLINE_TIMEOUT = timedelta(seconds=settings.KLINE_TASK_TIMEOUT_S)  # work that grows with the window


def default_args(retries: int = 2) -> dict[str, Any]:
    return {
        "retries": retries,
        "retry_delay": timedelta(seconds=settings.RETRY_DELAY_S),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(seconds=settings.TASK_TIMEOUT_S),
        "on_failure_callback": task_failed,
    }
