"""The binance_etl DAG's task ids that other modules refer to (XCom pulls in gates, the run report): one place, so
renaming a task cannot silently break a reference to it. Task ids per table follow one pattern each."""

from __future__ import annotations

PLAN = "plan"  # its XCom ``window`` is the run's window (``include.run_window.RunWindow`` as a dict)
RECONCILE = "reconcile_fact_kline"
NOTIFY = "notify"


def transform(table: str) -> str:
    return f"transform_{table}"


def load(table: str) -> str:
    return f"load_{table}"


def check(table: str) -> str:
    return f"check_{table}"


def publish(table: str) -> str:
    return f"publish_{table}"
