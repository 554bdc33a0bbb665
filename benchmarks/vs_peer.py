"""This project's extract+transform+load path against the script users write by hand, side by side.

Usage: .venv/bin/pip install -r requirements-bench.txt && .venv/bin/python -m benchmarks.vs_peer [--years 8]
Both read BTCUSDT 1m klines for ``--years`` years from 2018-01-01 from the same simulator (50 ms added
latency) and write to the same MariaDB. Two peers: python-binance's ``Client.get_historical_klines``
plus ``pandas.DataFrame.to_sql`` (REST), and the strongest script users write: the monthly and daily
archive zips, ``pandas.read_csv`` and ``DataFrame.to_sql(method="multi")``. This project runs its DAG
steps (archives for whole months and days, REST for the rest, transform to staging CSVs, bulk upsert).
Prints rows/s for each, both ratios, and whether row counts and close checksums match.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from benchmarks.common import close_checksum, fresh_warehouse, parse_args, peak_rss_mb, run_steps, use_connections
from harness.simulator import simulator

START = datetime(2018, 1, 1, tzinfo=UTC)
COLUMNS = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_base",
    "taker_quote",
    "ignore",
]

BENCH_DB = "binance_bench_vs_peer"


def peer(base_url: str, start_ms: int, end_ms: int) -> int:
    """What a python-binance user writes: fetch everything, build a DataFrame, to_sql it."""
    import pandas as pd
    from binance.client import Client
    from sqlalchemy import create_engine

    client = Client(ping=False)
    client.API_URL = base_url + "/api"
    klines = client.get_historical_klines("BTCUSDT", Client.KLINE_INTERVAL_1MINUTE, start_ms, end_ms - 1)
    frame = pd.DataFrame(klines, columns=COLUMNS)
    for column in [*COLUMNS[1:6], "quote_volume", "taker_base", "taker_quote"]:
        frame[column] = frame[column].astype(float)
    frame["open_time"] = pd.to_datetime(frame["open_time"], unit="ms")
    frame["close_time"] = pd.to_datetime(frame["close_time"], unit="ms")
    engine = create_engine(f"mysql+mysqldb://root@127.0.0.1:3306/{BENCH_DB}")
    frame.to_sql("peer_kline", engine, if_exists="replace", index=False, chunksize=10_000)
    return len(frame)


def archive_peer(base_url: str, start_ms: int, end_ms: int) -> int:
    """What a pandas user writes against data.binance.vision: every monthly (then daily) zip, read_csv, to_sql."""
    import pandas as pd
    from sqlalchemy import create_engine

    from include.kline_periods import chunks
    from include.transforms.archive import path

    engine = create_engine(f"mysql+mysqldb://root@127.0.0.1:3306/{BENCH_DB}")
    rows, replace = 0, True
    whole_days = -(-end_ms // 86_400_000) * 86_400_000  # every file needed, the last one cut below
    for chunk in chunks(start_ms, whole_days, "1m", complete_before_ms=whole_days):
        frame = pd.read_csv(
            base_url + path("BTCUSDT", "1m", str(chunk.archive), chunk.label),
            header=None,
            names=COLUMNS,
            compression="zip",
        )
        frame = frame[(frame["open_time"] >= start_ms) & (frame["open_time"] < end_ms)]
        frame["open_time"] = pd.to_datetime(frame["open_time"], unit="ms")
        frame["close_time"] = pd.to_datetime(frame["close_time"], unit="ms")
        frame.to_sql(
            "peer_archive_kline",
            engine,
            if_exists="replace" if replace else "append",
            index=False,
            chunksize=10_000,
            method="multi",
        )
        rows, replace = rows + len(frame), False
    return rows


def ours(start_ms: int, end_ms: int) -> int:
    """The DAG's steps for one symbol: dims, archive/REST extract, transform to staging, bulk upsert."""
    return int(run_steps(["BTCUSDT"], "1m", start_ms, end_ms)["rows"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=float, default=8, help="from 2018-01-01 (fractions of a year allowed)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parse_args(parser, {"years": 0.01})
    start_ms = int(START.timestamp() * 1000)
    end_ms = start_ms + int(args.years * 365.25 * 86_400_000) // 60_000 * 60_000
    with simulator("--symbols", "BTCUSDT", "--start", "2018-01-01", "--latency-ms", str(args.latency_ms)) as (base, _):
        use_connections(base, BENCH_DB, archives=True)
        fresh_warehouse(BENCH_DB)
        results = {}
        jobs = {
            "this project": lambda: ours(start_ms, end_ms),
            "archive peer": lambda: archive_peer(base, start_ms, end_ms),
            "REST peer": lambda: peer(base, start_ms, end_ms),
        }
        for name, job in jobs.items():
            started = time.perf_counter()
            rows = job()
            seconds = time.perf_counter() - started
            results[name] = rows / seconds
            print(f"{name:<14} {rows:>10,} rows in {seconds:8.1f} s = {rows / seconds:>9,.0f} rows/s", flush=True)
    for name, table in (("archive peer", "peer_archive_kline"), ("REST peer", "peer_kline")):
        print(f"ratio: this project is {results['this project'] / results[name]:.1f}x the {name} end to end")
        mine, theirs = close_checksum(BENCH_DB), close_checksum(BENCH_DB, table)
        verdict = "IDENTICAL" if mine == theirs else "DIFFER"
        print(f"rows and close checksum: this project {mine}, {name} {theirs}: {verdict}")
    print(f"{args.years} years of BTCUSDT 1m, {args.latency_ms:.0f} ms latency; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
