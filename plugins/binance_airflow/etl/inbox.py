"""The binance_file_inbox DAG's steps: list the inbox, load one file all-or-nothing, file it away."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from binance_airflow.etl.run_folder import run_dir
from binance_airflow.warehouse.connection import warehouse_hook
from binance_airflow.warehouse.loads import upsert_csv
from binance_airflow.warehouse.tables import TABLES
from include.intervals import HOUR_MS
from include.transforms import dim_date
from include.transforms.file_sources import FileRejected, ParsedFile, parse
from include.transforms.staging import write_csv

log = logging.getLogger(__name__)
PROCESSED, REJECTED = "processed", "rejected"
TARGETS = ("fact_kline", "fact_balance")  # the tables inbox files load


def pending_files(inbox: Path) -> list[str]:
    """Files waiting in the inbox (not hidden, not in processed/ or rejected/), oldest first."""
    inbox.mkdir(parents=True, exist_ok=True)
    files = [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")]
    return [str(p) for p in sorted(files, key=lambda p: (p.stat().st_mtime, p.name))]


def ingest(path: Path, run_id: str) -> dict[str, Any]:
    """Validate and load one file, then move it to processed/ or, with a reason file, to rejected/.

    A database error propagates (the task retries and the file stays in the inbox); anything wrong with
    the file itself rejects it whole: nothing of it is loaded.
    """
    try:
        parsed = parse(path, int(datetime.now(UTC).timestamp() * 1000))
        loaded = _load(parsed, path, run_id)
    except FileRejected as err:
        target = _file_away(path, REJECTED)
        target.with_name(target.name + ".reason.txt").write_text(f"{path.name}: {err}\n", encoding="utf-8")
        log.warning("rejected %s: %s", path.name, err)
        return {"file": path.name, "status": REJECTED, "reason": str(err), "moved_to": str(target)}
    target = _file_away(path, PROCESSED)
    log.info("loaded %s: %d %s rows into %s", path.name, loaded["rows_in"], parsed.kind, loaded["table"])
    return {"file": path.name, "status": PROCESSED, "kind": parsed.kind, **loaded, "moved_to": str(target)}


def _load(parsed: ParsedFile, path: Path, run_id: str) -> dict[str, Any]:
    hook = warehouse_hook()
    staging = run_dir(run_id, "binance_file_inbox")
    batch = f"{run_id}:{path.name}"
    table = TARGETS[parsed.kind == "balances"]
    if table == "fact_kline":
        _require_known_symbols(hook, sorted({row[0] for row in parsed.rows}))
        assert parsed.hours is not None
        first, last = parsed.hours
        _upsert(hook, "dim_date", staging, path, dim_date.hours(first, last + HOUR_MS), batch)
    return _upsert(hook, table, staging, path, parsed.rows, batch)


def _upsert(
    hook: Any, table: str, staging: Path, path: Path, rows: list[tuple[Any, ...]], batch: str
) -> dict[str, Any]:
    """Stage ``rows`` of ``table`` as a CSV and upsert it in one transaction (columns and key as the API path's)."""
    csv_path = staging / f"{table}.{path.name}.csv"
    written = write_csv(csv_path, TABLES[table].columns, rows)
    return upsert_csv(hook, TABLES[table], csv_path, written, batch).as_dict()


def _require_known_symbols(hook: Any, symbols: list[str]) -> None:
    placeholders = ", ".join(["%s"] * len(symbols))
    known = {
        s
        for (s,) in hook.get_records(
            f"SELECT symbol FROM dim_symbol WHERE symbol IN ({placeholders})", parameters=symbols
        )
    }
    unknown = [s for s in symbols if s not in known]
    if unknown:
        raise FileRejected(f"symbols not in dim_symbol: {', '.join(unknown)} (load them once with binance_etl)")


def _file_away(path: Path, folder: str) -> Path:
    """Move ``path`` into ``folder`` beside it, stamped so a re-sent file never overwrites an earlier one."""
    target = path.parent / folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{path.name}"
    target.parent.mkdir(exist_ok=True)
    os.replace(path, target)
    return target


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "event": "inbox_summary",
        "processed": [r["file"] for r in results if r["status"] == PROCESSED],
        "rejected": {r["file"]: r["reason"] for r in results if r["status"] == REJECTED},
        "rows": sum(r.get("rows_in", 0) for r in results),
    }
