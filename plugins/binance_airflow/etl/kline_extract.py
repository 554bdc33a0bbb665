"""One symbol's klines over a window, as raw chunk files: archives for whole past months and days, REST
for the rest, several chunks at once (the hook's weight budget keeps REST under Binance's limit)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from binance_airflow.binance.archives import ArchiveClient, for_hook
from binance_airflow.binance.hook import BinanceHook
from include.intervals import DAY_MS
from include.kline_periods import Chunk, chunks
from include.transforms.raw_files import write_archive_csv, write_pages

log = logging.getLogger(__name__)


def extract_symbol(
    hook: BinanceHook, symbol: str, interval: str, start_ms: int, end_ms: int, folder: Path, workers: int
) -> list[dict[str, Any]]:
    """Write one JSON-lines file per chunk of [start_ms, end_ms) under ``folder``; describe each file."""
    folder.mkdir(parents=True, exist_ok=True)
    today_ms = int(time.time() * 1000) // DAY_MS * DAY_MS
    pieces = chunks(start_ms, end_ms, interval, complete_before_ms=today_ms)
    archives = for_hook(hook)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"klines-{symbol}") as pool:
        files = list(pool.map(lambda chunk: _extract_chunk(hook, archives, symbol, interval, chunk, folder), pieces))
    archived = sum(f["rows"] for f in files if f["source"] == "archive")
    log.info(
        "%s %s: %d candles in %d chunks (%d from archive files, %d from REST)",
        symbol,
        interval,
        sum(f["rows"] for f in files),
        len(files),
        archived,
        sum(f["rows"] for f in files) - archived,
    )
    return files


def _extract_chunk(
    hook: BinanceHook, archives: ArchiveClient | None, symbol: str, interval: str, chunk: Chunk, folder: Path
) -> dict[str, Any]:
    text = archives.klines_csv(symbol, interval, chunk.archive, chunk.label) if archives and chunk.archive else None
    if text is not None:
        path = folder / f"{chunk.label}.csv"
        return {"path": str(path), "label": chunk.label, "source": "archive", "rows": write_archive_csv(path, text)}
    if chunk.archive:
        log.info("%s %s %s: no archive file; using REST", symbol, interval, chunk.label)
    path = folder / f"{chunk.label}.jsonl"
    pages = hook.iter_kline_pages(symbol, interval, chunk.start_ms, chunk.end_ms)
    return {"path": str(path), "label": chunk.label, "source": "rest", "rows": write_pages(path, pages)}
