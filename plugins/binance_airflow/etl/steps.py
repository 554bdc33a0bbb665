"""The steps of the binance_etl DAG as plain functions over the run's window and folder; the DAG only wires them."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from binance_airflow.binance.hook import BinanceHook
from binance_airflow.etl.kline_extract import extract_symbol
from binance_airflow.etl.run_folder import inside, raw_capture
from binance_airflow.warehouse.connection import warehouse_hook
from binance_airflow.warehouse.lineage import report_files, report_load
from binance_airflow.warehouse.loads import LoadResult, record_rejects, upsert_csv
from binance_airflow.warehouse.tables import ACCOUNT, EXCHANGE_INFO, TABLES, TICKER, WINDOW, Table
from include import settings, symbol_selection
from include.run_window import RunWindow
from include.transforms import kline_arrow, klines, snapshots
from include.transforms.staging import read_csv, read_json, write_csv, write_json

log = logging.getLogger(__name__)


# -- extract -----------------------------------------------------------------------------------


def resolve_symbols(window: RunWindow, folder: Path, hook: BinanceHook) -> RunWindow:
    """``window`` with its symbol patterns (``*USDT``) replaced by the symbols they match; the exchangeInfo read
    for that is kept in ``folder`` for ``extract_exchange_info`` (weight 20 once, not twice).

    A window reaching today takes the TRADING symbols. A window in the past takes the symbols of any status
    (survivorship: a pair delisted since traded then), and each matched symbol no longer trading is asked for one
    candle in the window (weight 2): one without any is skipped, not failed. The window lists those kept that no
    longer trade (``not_trading``, in the run summary)."""
    if not any(symbol_selection.is_pattern(s) for s in window.symbols):
        return window
    info = hook.exchange_info()
    write_json(_planned_exchange_info(folder), info)
    past = not window.is_recent
    symbols = symbol_selection.expand(window.symbols, info["symbols"], any_status=past)
    if ignored := symbol_selection.not_names(info["symbols"]):
        log.warning(
            "exchangeInfo lists %d names that are not symbol names, ignored: %s", len(ignored), ", ".join(ignored[:5])
        )
    named = set(window.symbols)
    stopped = {s["symbol"] for s in info["symbols"] if s.get("status") != "TRADING"} & set(symbols) - named
    had = {s for s in sorted(stopped) if hook.has_klines(s, window.interval, window.start_ms, window.end_ms)}
    if stopped - had:
        log.info("no candles in the window, skipped: %s", " ".join(sorted(stopped - had)))
    symbols = [s for s in symbols if s not in stopped or s in had]
    if not symbols:
        raise ValueError(f"symbols {', '.join(window.symbols)} match no symbol with candles in the window")
    log.info("symbols %s resolved to %d symbols: %s", ", ".join(window.symbols), len(symbols), " ".join(symbols))
    if had:
        log.info("%d of them no longer trade (delisted or halted since): %s", len(had), " ".join(sorted(had)))
    return replace(window, symbols=symbols, not_trading=sorted(had))


def _planned_exchange_info(folder: Path) -> Path:
    return folder / "raw" / "exchange_info.plan.json"


def extract_exchange_info(window: RunWindow, folder: Path, hook: BinanceHook) -> list[dict[str, Any]]:
    """exchangeInfo for the run's symbols (as ``resolve_symbols`` read it, if it did); fails naming any symbol
    Binance does not list.

    Returns the batches of symbols the kline tasks map over, each ``{"symbols", "weight_limit", "label"}``:
    at most ``settings.KLINE_BATCHES`` whatever the number of symbols.
    """
    if (planned := _planned_exchange_info(folder)).exists():
        info = read_json(planned)
        hook.adopt_rate_limits(info)
    else:
        info = hook.exchange_info()
    snapshots.symbol_rows(info, window.symbols)
    wanted = set(window.symbols)
    info["symbols"] = [s for s in info["symbols"] if s["symbol"] in wanted]
    write_json(capture := raw_capture(folder, EXCHANGE_INFO), info)
    report_files(hook, wrote=(capture,))
    return [
        {"symbols": batch, "weight_limit": hook.budget.limit, "label": symbol_selection.label(batch)}
        for batch in symbol_selection.batches(window.symbols, settings.KLINE_BATCHES)
    ]


def extract_ticker(window: RunWindow, folder: Path, hook: BinanceHook) -> str | None:
    """24hr ticker for all symbols in one call; None (skip) for historical windows."""
    if not window.is_recent:
        log.info("historical window: the 24hr ticker is a live snapshot, so it is not captured")
        return None
    path = raw_capture(folder, TICKER)
    write_json(path, hook.ticker_24hr(window.symbols))
    report_files(hook, wrote=(path,))
    return str(path)


def extract_account(window: RunWindow, folder: Path, hooks: list[BinanceHook]) -> str | None:
    """SIGNED balances of every account (``hooks``: one per connection of ``BINANCE_ETL_ACCOUNTS``) into one capture;
    an account without an API key is skipped (logged); None (skip) when none has one, or for historical windows."""
    if not window.is_recent:
        log.info("historical window: balances are a live snapshot, so they are not captured")
        return None
    accounts = []
    for hook in hooks:
        if not hook.has_credentials:
            log.info("connection %s has no API key/secret: skipping its balances", hook.http_conn_id)
            continue
        balances = hook.account().get("balances", [])
        accounts.append({"account": hook.http_conn_id, "balances": balances, "server_time_ms": hook.server_time_ms()})
    if not accounts:
        return None
    path = raw_capture(folder, ACCOUNT)
    write_json(path, {"accounts": accounts})
    report_files(hooks[0], wrote=(path,))
    log.info("balances of %d account(s): %s", len(accounts), ", ".join(a["account"] for a in accounts))
    return str(path)


def extract_klines(window: RunWindow, symbols: list[str], folder: Path, hook: BinanceHook) -> list[dict[str, Any]]:
    """All candles of each of ``symbols`` in the window, as raw chunk files (archives where possible, else REST)."""
    extracted = []
    for number, symbol in enumerate(symbols, 1):
        raw = inside(folder, "raw", "klines", symbol)
        workers = settings.EXTRACT_WORKERS
        files = extract_symbol(hook, symbol, window.interval, window.start_ms, window.end_ms, raw, workers)
        report_files(hook, wrote=(raw,))
        extracted.append({"symbol": symbol, "files": files, "rows": sum(f["rows"] for f in files)})
        if len(symbols) > 1:
            log.info("extracted %d of %d symbols of this batch", number, len(symbols))
    return extracted


# -- transform ---------------------------------------------------------------------------------


def stage_table(table: Table, window: RunWindow, folder: Path) -> dict[str, Any]:
    """``table``'s staging CSV, by its registry transform from the raw capture it is staged from; a table with a
    ``snapshot_time`` column also reports the snapshot times it staged (its gate's scope)."""
    if table.transform is None or table.staged_from is None:
        raise ValueError(
            f"{table.name} is not staged by a transform: give its registry entry staged_from and transform"
        )
    capture = None if table.staged_from == WINDOW else raw_capture(folder, table.staged_from)
    rows = table.transform(None if capture is None else read_json(capture), window)
    path = folder / "staging" / f"{table.name}.csv"
    staged: dict[str, Any] = {"csv": str(path), "rows": write_csv(path, table.columns, rows)}
    report_files(table, read=() if capture is None else (capture,), wrote=(path.parent,))
    if "snapshot_time" in table.columns:
        staged["snapshot_times"] = sorted({row[table.columns.index("snapshot_time")] for row in rows})
    return staged


def transform_klines(
    window: RunWindow, folder: Path, extracted: list[dict[str, Any]], now_ms: int
) -> list[dict[str, Any]]:
    """Each symbol's raw chunk files → validated, deduplicated staging CSVs (one per chunk) and a rejects CSV."""
    return [_transform_symbol(window, folder, item, now_ms) for item in extracted]


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
    report_files(window, read=(inside(folder, "raw", "klines", symbol),), wrote=(staging,))
    log.info(
        "%s: %d raw, %d valid, %d rejected, %d duplicates", symbol, extracted["rows"], rows, len(rejects), duplicates
    )
    return {"symbol": symbol, "files": files, "rows": rows, "rejects_csv": str(rejects_path), "rejects": len(rejects)}


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
    hook, csv = warehouse_hook(), Path(staged["csv"])
    result = upsert_csv(hook, TABLES[table], csv, staged["rows"], run_id)
    report_load(hook, table, csv.parent, result.inserted + result.updated)
    return result.as_dict()


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
    if staged and staged[0]["files"]:
        report_load(hook, "fact_kline", Path(staged[0]["files"][0]["csv"]).parent, total.inserted + total.updated)
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
