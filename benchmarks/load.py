"""MySQL load throughput alone: N one-minute klines, already staged as chunk CSVs, upserted into fact_kline.

Usage: .venv/bin/python -m benchmarks.load [--rows 1000000]
Stages the simulator's candles through the real transform (not timed), then times ``load_klines`` into
an empty table (inserts) and again over the loaded rows (the idempotent re-run: every row unchanged).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import fresh_warehouse, parse_args, peak_rss_mb, use_connections
from include.binance_sim.__main__ import parse_symbols
from include.binance_sim.market import Market
from include.binance_sim.payloads import klines_json
from include.intervals import MINUTE_MS, month_start
from include.transforms import dim_date, klines
from include.transforms.staging import write_csv

START_MS = 1514764800000  # 2018-01-01

BENCH_DB = "binance_bench_load"


def stage(rows: int, folder: Path) -> list[dict]:
    """Chunk CSVs (a month each) holding ``rows`` BTCUSDT 1m klines from 2018-01-01, plus dim_date rows."""
    from binance_airflow.warehouse.connection import warehouse_hook
    from binance_airflow.warehouse.loads import upsert_csv
    from binance_airflow.warehouse.tables import TABLES

    market = Market(parse_symbols("BTCUSDT", "2018-01-01"))
    end_ms = START_MS + rows * MINUTE_MS
    dates = folder / "dim_date.csv"
    written = write_csv(dates, dim_date.COLUMNS, dim_date.hours(START_MS, end_ms))
    upsert_csv(warehouse_hook(), TABLES["dim_date"], dates, written, "bench")
    symbols = folder / "dim_symbol.csv"
    write_csv(symbols, TABLES["dim_symbol"].columns, [("BTCUSDT", "BTC", "USDT", "TRADING")])
    upsert_csv(warehouse_hook(), TABLES["dim_symbol"], symbols, 1, "bench")
    files, cursor = [], START_MS
    while cursor < end_ms:
        chunk_end = min(month_start(cursor, 1), end_ms)
        table = market.klines("BTCUSDT", "1m", cursor, chunk_end - 1, (chunk_end - cursor) // MINUTE_MS)
        batch = klines.transform_klines(json.loads(klines_json(table)), "BTCUSDT", "1m", end_ms + MINUTE_MS)
        path = folder / f"fact_kline.BTCUSDT.{cursor}.csv"
        files.append({"csv": str(path), "rows": write_csv(path, klines.COLUMNS, batch.rows), "rejects": 0})
        cursor = chunk_end
    return [{"symbol": "BTCUSDT", "files": files, "rows": rows, "rejects": 0, "rejects_csv": ""}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parse_args(parser, {"rows": 5_000})
    use_connections(None, BENCH_DB)
    from binance_airflow.etl.steps import load_klines

    fresh_warehouse(BENCH_DB)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        staged = stage(args.rows, Path(tmp))
        print(f"staged {args.rows:,} klines in {len(staged[0]['files'])} chunk CSVs")
        for label in ("insert", "re-run (unchanged)"):
            started = time.perf_counter()
            result = load_klines(staged, f"bench-{label}")
            seconds = time.perf_counter() - started
            print(
                f"load {label:<16} {result['rows_in']:>9,} rows in {seconds:6.1f} s = "
                f"{result['rows_in'] / seconds:>9,.0f} rows/s (inserted {result['inserted']:,}, "
                f"updated {result['updated']:,}, unchanged {result['unchanged']:,})"
            )
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
