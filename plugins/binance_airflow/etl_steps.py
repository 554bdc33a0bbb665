"""The steps of the binance_etl DAG as plain functions over a run folder; the DAG only wires them."""

from __future__ import annotations

import hashlib
import logging
import shutil
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

from binance_airflow.hook import BinanceHook
from binance_airflow.kline_extract import extract_symbol
from binance_airflow.tables import TABLES
from binance_airflow.warehouse import LoadResult, record_rejects, upsert_csv, warehouse_hook
from include import settings, symbol_selection
from include.run_window import RunWindow
from include.transforms import dim_date, kline_arrow, klines, snapshots
from include.transforms.staging import read_csv, read_json, write_csv, write_json

log = logging.getLogger(__name__)


_SAFE = frozenset(string.ascii_letters + string.digits + "_-")


def run_dir(run_id: str, dag_id: str = "binance_etl") -> Path:
    """Run-scoped staging folder of a DAG, always a direct child of ``<staging root>/<dag_id>``.

    The folder name encodes the run id injectively: letters, digits, ``_`` and ``-`` stay, every other
    byte becomes ``%XX`` (``.`` and ``%`` included), behind a ``run-`` prefix; a name that would pass
    the file-system limit keeps a readable head and the run id's SHA-256 behind a ``long-`` prefix.
    """
    escaped = "".join(
        char if char in _SAFE else "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))
        for char in run_id
    )
    name = f"run-{escaped}"
    if len(name) > 200:
        name = f"long-{escaped[:120]}-{hashlib.sha256(run_id.encode('utf-8', 'surrogatepass')).hexdigest()}"
    return settings.STAGING_ROOT / dag_id / name


def window_of(plan: dict[str, Any]) -> RunWindow:
    return RunWindow(**plan)


# -- extract -----------------------------------------------------------------------------------


def resolve_symbols(window: RunWindow, folder: Path, hook: BinanceHook) -> RunWindow:
    """``window`` with its symbol patterns (``*USDT``) replaced by the TRADING symbols they match now; the
    exchangeInfo read for that is kept in ``folder`` for ``extract_exchange_info`` (weight 20 once, not twice)."""
    if not any(symbol_selection.is_pattern(s) for s in window.symbols):
        return window
    info = hook.exchange_info()
    write_json(_planned_exchange_info(folder), info)
    symbols = symbol_selection.expand(window.symbols, info["symbols"])
    log.info("symbols %s resolved to %d symbols: %s", ", ".join(window.symbols), len(symbols), " ".join(symbols))
    return replace(window, symbols=symbols)


def _planned_exchange_info(folder: Path) -> Path:
    return folder / "raw" / "exchange_info.plan.json"


def extract_exchange_info(plan: dict[str, Any], folder: Path, hook: BinanceHook) -> list[dict[str, Any]]:
    """exchangeInfo for the run's symbols (as ``resolve_symbols`` read it, if it did); fails naming any symbol
    Binance does not list.

    Returns the batches of symbols the kline tasks map over, each ``{"symbols", "weight_limit", "label"}``:
    at most ``settings.KLINE_BATCHES`` whatever the number of symbols.
    """
    window = window_of(plan)
    if (planned := _planned_exchange_info(folder)).exists():
        info = read_json(planned)
        hook.adopt_rate_limits(info)
    else:
        info = hook.exchange_info()
    snapshots.symbol_rows(info, window.symbols)
    wanted = set(window.symbols)
    info["symbols"] = [s for s in info["symbols"] if s["symbol"] in wanted]
    write_json(folder / "raw" / "exchange_info.json", info)
    return [
        {"symbols": batch, "weight_limit": hook.budget.limit, "label": symbol_selection.label(batch)}
        for batch in symbol_selection.batches(window.symbols, settings.KLINE_BATCHES)
    ]


def extract_ticker(plan: dict[str, Any], folder: Path, hook: BinanceHook) -> str | None:
    """24hr ticker for all symbols in one call; None (skip) for historical windows."""
    window = window_of(plan)
    if not window.is_recent:
        log.info("historical window: the 24hr ticker is a live snapshot, so it is not captured")
        return None
    path = folder / "raw" / "ticker_24hr.json"
    write_json(path, hook.ticker_24hr(window.symbols))
    return str(path)


def extract_account(plan: dict[str, Any], folder: Path, hook: BinanceHook) -> str | None:
    """SIGNED account balances; None (skip) without an API key or for historical windows."""
    if not hook.has_credentials:
        log.info("connection %s has no API key/secret: skipping balances", hook.http_conn_id)
        return None
    if not window_of(plan).is_recent:
        log.info("historical window: balances are a live snapshot, so they are not captured")
        return None
    account = hook.account()
    path = folder / "raw" / "account.json"
    write_json(path, {"balances": account.get("balances", []), "server_time_ms": hook.server_time_ms()})
    return str(path)


def extract_klines(plan: dict[str, Any], symbols: list[str], folder: Path, hook: BinanceHook) -> list[dict[str, Any]]:
    """All candles of each of ``symbols`` in the window, as raw chunk files (archives where possible, else REST)."""
    window = window_of(plan)
    extracted = []
    for number, symbol in enumerate(symbols, 1):
        files = extract_symbol(
            hook, symbol, window.interval, window.start_ms, window.end_ms, folder / "raw" / "klines" / symbol,
            settings.EXTRACT_WORKERS,
        )  # fmt: skip
        extracted.append({"symbol": symbol, "files": files, "rows": sum(f["rows"] for f in files)})
        if len(symbols) > 1:
            log.info("extracted %d of %d symbols of this batch", number, len(symbols))
    return extracted


# -- transform ---------------------------------------------------------------------------------


def transform_klines(
    plan: dict[str, Any], folder: Path, extracted: list[dict[str, Any]], now_ms: int
) -> list[dict[str, Any]]:
    """Each symbol's raw chunk files → validated, deduplicated staging CSVs (one per chunk) and a rejects CSV."""
    return [_transform_symbol(window_of(plan), folder, item, now_ms) for item in extracted]


def _transform_symbol(window: RunWindow, folder: Path, extracted: dict[str, Any], now_ms: int) -> dict[str, Any]:
    symbol = extracted["symbol"]
    staging = folder / "staging"
    files, rejects, duplicates = [], [], 0
    for raw in extracted["files"]:
        batch = kline_arrow.transform_file(Path(raw["path"]), symbol, window.interval, now_ms)
        csv_path = staging / f"fact_kline.{symbol}.{raw['label']}.csv"
        written = kline_arrow.write_csv(csv_path, batch.table)
        files.append({"csv": str(csv_path), "rows": written, "rejects": len(batch.rejects)})
        rejects += batch.rejects
        duplicates += batch.duplicates
    rejects_path = staging / f"rejects.fact_kline.{symbol}.csv"
    write_csv(rejects_path, klines.REJECT_COLUMNS, rejects)
    rows = sum(f["rows"] for f in files)
    log.info("%s: %d raw, %d valid, %d rejected, %d duplicates", symbol, extracted["rows"], rows, len(rejects),
             duplicates)  # fmt: skip
    return {"symbol": symbol, "files": files, "rows": rows, "rejects_csv": str(rejects_path), "rejects": len(rejects)}


def transform_symbols(folder: Path) -> dict[str, Any]:
    info = read_json(folder / "raw" / "exchange_info.json")
    rows = snapshots.symbol_rows(info, [s["symbol"] for s in info["symbols"]])
    path = folder / "staging" / "dim_symbol.csv"
    return {"csv": str(path), "rows": write_csv(path, snapshots.SYMBOL_COLUMNS, rows)}


def transform_dates(plan: dict[str, Any], folder: Path) -> dict[str, Any]:
    window = window_of(plan)
    path = folder / "staging" / "dim_date.csv"
    return {"csv": str(path), "rows": write_csv(path, dim_date.COLUMNS, dim_date.hours(window.start_ms, window.end_ms))}


def transform_ticker(folder: Path, raw_path: str) -> dict[str, Any]:
    """fact_ticker_24hr rows, each stamped with its ticker's closeTime (when Binance computed it)."""
    rows = snapshots.ticker_rows(read_json(Path(raw_path)))
    return _staged_snapshot(folder / "staging" / "fact_ticker_24hr.csv", snapshots.TICKER_COLUMNS, rows)


def transform_balances(folder: Path, raw_path: str) -> dict[str, Any]:
    """fact_balance rows (non-zero balances), stamped with Binance's server time when they were read."""
    raw = read_json(Path(raw_path))
    rows = snapshots.balance_rows(raw, raw["server_time_ms"])
    return _staged_snapshot(folder / "staging" / "fact_balance.csv", snapshots.BALANCE_COLUMNS, rows)


def _staged_snapshot(path: Path, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """A staged snapshot CSV, with its snapshot times (the gate's scope)."""
    times = sorted({row[columns.index("snapshot_time")] for row in rows})
    return {"csv": str(path), "rows": write_csv(path, columns, rows), "snapshot_times": times}


def every_batch(pulled: Any) -> list[dict[str, Any]]:
    """The kline batches' load results as a list: from a mapped task group Airflow hands a downstream task a
    list of every instance's result, but one instance's result bare (a lazy sequence is sliced: iterating it
    probes past its end)."""
    return [pulled] if isinstance(pulled, dict) else list(pulled[:])


def per_symbol(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every symbol's transform output, from the batches' loads (each ``{"loaded", "staged"}``)."""
    return [item for batch in batches for item in batch["staged"]]


# -- load --------------------------------------------------------------------------------------


def load_table(table: str, staged: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Upsert one staged CSV into ``table``."""
    return upsert_csv(warehouse_hook(), TABLES[table], Path(staged["csv"]), staged["rows"], run_id).as_dict()


def load_klines(staged: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """Upsert every chunk CSV of every symbol (one transaction each) and record the run's rejects.

    ``staged``: every symbol's transform output (see ``per_symbol``)."""
    loaded = load_kline_batch(staged, run_id)
    return finish_kline_load([loaded], staged, run_id)


def load_kline_batch(staged: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """Upsert the chunk CSVs of a batch of symbols' transform outputs, one transaction each."""
    hook = warehouse_hook()
    total = LoadResult("fact_kline", 0, 0, 0)
    for item in staged:
        for chunk in item["files"]:
            total.add(
                upsert_csv(hook, TABLES["fact_kline"], Path(chunk["csv"]), chunk["rows"], run_id, chunk["rejects"])
            )
    return total.as_dict()


def finish_kline_load(loaded: list[dict[str, Any]], staged: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """fact_kline's load for the whole run: the batches' counts (``loaded``) totalled, and every symbol's rejects
    (``staged``: every symbol's transform output) recorded at once, replacing any earlier try's."""
    total = LoadResult("fact_kline", 0, 0, 0)
    for counts in loaded:
        total.add(LoadResult(**counts))
    all_rejects = [row for item in staged if item["rejects"] for row in read_csv(Path(item["rejects_csv"]))[1]]
    record_rejects(
        warehouse_hook(), run_id, "fact_kline", [[None if v == r"\N" else v for v in row] for row in all_rejects]
    )
    return total.as_dict()


# -- notify ------------------------------------------------------------------------------------


def summarise(
    run_id: str,
    loads: list[dict[str, Any]],
    task_states: dict[str, str],
    reconciled: dict[str, Any] | None = None,
    symbols: list[str] | None = None,
) -> dict[str, Any]:
    """The run's report: rows per table, what reconciling fact_kline with Binance found, tasks that did not succeed."""
    failed = sorted(t for t, s in task_states.items() if s == "failed")
    blocked = sorted(t for t, s in task_states.items() if s == "upstream_failed")
    skipped = sorted(t for t, s in task_states.items() if s == "skipped")
    reconciled = reconciled or {"healed": {}, "outages": [], "unexplained": []}
    return {
        "event": "run_summary",
        "dag_run_id": run_id,
        "status": "failed" if failed or blocked else "success",
        "symbols": symbols or [],
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
    for table, counts in sorted(summary["tables"].items()):
        lines.append(
            f"  {table:<17} in={counts['rows_in']:>7} inserted={counts['inserted']:>7} "
            f"updated={counts['updated']:>7} unchanged={counts['unchanged']:>7} rejects={counts['rejects']:>5}"
        )
    for symbol, count in sorted(summary["healed"].items()):
        lines.append(f"  healed: {symbol} {count} candles that Binance served when asked again")
    for hole in summary["exchange_outages"]:
        lines.append(f"  exchange outage: {hole['symbol']} {hole['interval']} {hole['first_missing']} to "
                     f"{hole['last_missing']} ({hole['candles']} candles Binance does not have)")  # fmt: skip
    for hole in summary["missing_candles"]:
        lines.append(f"  MISSING: {hole['symbol']} {hole['interval']} {hole['candles']} candles from "
                     f"{hole['first_missing']}: {hole['why']}")  # fmt: skip
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
