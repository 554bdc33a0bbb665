"""One symbol's klines over a window, as raw chunk files: archives for whole past months and days, REST
for the rest, several chunks at once (the hook's weight budget keeps REST under Binance's limit)."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from binance_airflow import archive_client
from binance_airflow.archive_client import ArchiveClient
from binance_airflow.hook import KLINES_PAGE, BinanceHook, Kline
from include.intervals import DAY_MS
from include.kline_periods import Chunk, chunks

log = logging.getLogger(__name__)


def extract_symbol(
    hook: BinanceHook, symbol: str, interval: str, start_ms: int, end_ms: int, folder: Path, workers: int
) -> list[dict[str, Any]]:
    """Write one JSON-lines file per chunk of [start_ms, end_ms) under ``folder``; describe each file."""
    folder.mkdir(parents=True, exist_ok=True)
    today_ms = int(time.time() * 1000) // DAY_MS * DAY_MS
    pieces = chunks(start_ms, end_ms, interval, complete_before_ms=today_ms)
    archives = archive_client.for_hook(hook)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"klines-{symbol}") as pool:
        files = list(pool.map(lambda chunk: _extract_chunk(hook, archives, symbol, interval, chunk, folder), pieces))
    archived = sum(f["rows"] for f in files if f["source"] == "archive")
    log.info(
        "%s %s: %d candles in %d chunks (%d from archive files, %d from REST)",
        symbol, interval, sum(f["rows"] for f in files), len(files), archived, sum(f["rows"] for f in files) - archived,
    )  # fmt: skip
    return files


def _extract_chunk(
    hook: BinanceHook, archives: ArchiveClient | None, symbol: str, interval: str, chunk: Chunk, folder: Path
) -> dict[str, Any]:
    rows = archives.klines(symbol, interval, chunk.archive, chunk.label) if archives and chunk.archive else None
    if rows is not None:
        pages, source = (rows[i : i + KLINES_PAGE] for i in range(0, len(rows), KLINES_PAGE)), "archive"
    else:
        if chunk.archive:
            log.info("%s %s %s: no archive file; using REST", symbol, interval, chunk.label)
        pages, source = hook.iter_kline_pages(symbol, interval, chunk.start_ms, chunk.end_ms), "rest"
    path = folder / f"{chunk.label}.jsonl"
    return {"path": str(path), "label": chunk.label, "source": source, "rows": write_pages(path, pages)}


def write_pages(path: Path, pages: Any) -> int:
    """Pages of klines as JSON lines, written atomically; returns the number of klines."""
    tmp = path.with_suffix(".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for page in pages:
            handle.write(json.dumps(page, separators=(",", ":")) + "\n")
            count += len(page)
    tmp.replace(path)
    return count


def read_pages(path: Path) -> list[Kline]:
    """All klines of one raw chunk file."""
    with path.open(encoding="utf-8") as handle:
        return [row for line in handle for row in json.loads(line)]
