"""The run report: what a binance_etl run loaded, healed, found missing and which tasks did not succeed; its text
for the log and the webhook; the staging folder removed after a success."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from include import settings

log = logging.getLogger(__name__)


def summarise(
    run_id: str,
    loads: list[dict[str, Any]],
    task_states: dict[str, str],
    reconciled: dict[str, Any] | None = None,
    symbols: list[str] | None = None,
    not_trading: list[str] | None = None,
) -> dict[str, Any]:
    """The run's report: rows per table, what reconciling fact_kline with Binance found, tasks that did not succeed
    (``not_trading``: the run's symbols Binance no longer trades, selected for a window in the past)."""
    failed = sorted(t for t, s in task_states.items() if s == "failed")
    blocked = sorted(t for t, s in task_states.items() if s == "upstream_failed")
    skipped = sorted(t for t, s in task_states.items() if s == "skipped")
    reconciled = reconciled or {"healed": {}, "outages": [], "unexplained": []}
    return {
        "event": "run_summary",
        "dag_run_id": run_id,
        "status": "failed" if failed or blocked else "success",
        "symbols": symbols or [],
        "not_trading": not_trading or [],
        "tables": {
            load["table"]: {k: load[k] for k in ("rows_in", "inserted", "updated", "unchanged", "rejects")}
            for load in loads
        },
        "healed": reconciled["healed"],
        "exchange_outages": reconciled["outages"],
        "missing_candles": reconciled["unexplained"],
        "failed_tasks": failed,
        "not_run_after_a_failure": blocked,
        "skipped_tasks": skipped,
    }


SHOWN_SYMBOLS = 12  # in the summary's text; its JSON lists them all


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"binance_etl {summary['dag_run_id']}: {summary['status'].upper()}"]
    if symbols := summary["symbols"]:
        shown = " ".join(symbols[:SHOWN_SYMBOLS]) + (
            f" … and {len(symbols) - SHOWN_SYMBOLS} more" if len(symbols) > SHOWN_SYMBOLS else ""
        )
        lines.append(f"  {len(symbols)} symbols: {shown}")
    if stopped := summary.get("not_trading"):
        lines.append(f"  {len(stopped)} of them no longer trading: {' '.join(stopped[:SHOWN_SYMBOLS])}")
    for table, counts in sorted(summary["tables"].items()):
        lines.append(
            f"  {table:<17} in={counts['rows_in']:>7} inserted={counts['inserted']:>7} "
            f"updated={counts['updated']:>7} unchanged={counts['unchanged']:>7} rejects={counts['rejects']:>5}"
        )
    for symbol, count in sorted(summary["healed"].items()):
        lines.append(f"  healed: {symbol} {count} candles that Binance served when asked again")
    for hole in summary["exchange_outages"]:
        lines.append(
            f"  exchange outage: {hole['symbol']} {hole['interval']} {hole['first_missing']} to "
            f"{hole['last_missing']} ({hole['candles']} candles Binance does not have)"
        )
    for hole in summary["missing_candles"]:
        lines.append(
            f"  MISSING: {hole['symbol']} {hole['interval']} {hole['candles']} candles from "
            f"{hole['first_missing']}: {hole['why']}"
        )
    if summary["failed_tasks"]:
        lines.append("  failed tasks: " + ", ".join(summary["failed_tasks"]))
    if summary["not_run_after_a_failure"]:
        lines.append("  not run after a failure: " + ", ".join(summary["not_run_after_a_failure"]))
    if summary["skipped_tasks"]:
        lines.append("  skipped tasks: " + ", ".join(summary["skipped_tasks"]))
    return "\n".join(lines)


def clean_staging(folder: Path, succeeded: bool) -> None:
    """Remove the run folder after a successful run unless staging is kept."""
    if succeeded and not settings.KEEP_STAGING:
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed staging folder %s", folder)
    else:
        log.info("staging kept at %s", folder)


_SEVERITY = {"failed": 2, "upstream_failed": 1}  # any other state: 0


def per_task(instances: dict[str, str], task_ids: set[str]) -> dict[str, str]:
    """Task states by task id from Airflow's task-instance states, whose keys are ``<task_id>_<map index>``
    for mapped instances: a mapped task is failed (or upstream_failed) if any of its instances is."""
    states: dict[str, str] = {}
    for key, state in instances.items():
        task = key if key in task_ids else key.rsplit("_", 1)[0]
        if task not in states or _SEVERITY.get(state, 0) > _SEVERITY.get(states[task], 0):
            states[task] = state
    return states
