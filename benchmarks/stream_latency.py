"""Real-time path: latency from a candle's close (the simulator's clock) to its committed row, and the cost.

Usage: .venv/bin/python -m benchmarks.stream_latency [--streams 10] [--interval 1s] [--seconds 60]
Starts the simulator with ``--streams`` symbols (its WebSocket streams on loopback) and runs the stream
service in this process for ``--seconds`` against a warehouse database of its own, then prints the
close→commit latency (p50, p99, max) over every candle written, and the service's CPU use and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import time

from benchmarks.common import fresh_warehouse, parse_args, peak_rss_mb, use_connections
from binance_airflow.stream.__main__ import QUIET
from harness.simulator import simulator

BENCH_DB = "binance_bench_stream"


def symbols(count: int) -> list[str]:
    return [f"S{i:04d}USDT" for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--interval", default="1s")
    parser.add_argument("--seconds", type=float, default=60)
    args = parse_args(parser, {"streams": 2, "interval": "1s", "seconds": 5})
    names = symbols(args.streams)
    with simulator("--symbols", ",".join(names), "--start", "2026-01-01") as (base, streams):
        use_connections(base, BENCH_DB, stream_url=streams)
        fresh_warehouse(BENCH_DB)
        os.environ["AIRFLOW_VAR_BINANCE_STREAM"] = json.dumps({"symbols": names, "intervals": [args.interval]})
        os.environ["BINANCE_STREAM_LOOKBACK"] = "0"  # latency of the streams alone: no history to heal first
        os.environ.setdefault("AIRFLOW__LOGGING__NAMESPACE_LEVELS", QUIET)
        from binance_airflow.stream.service import StreamService

        service = StreamService()
        cpu_before, started = _cpu_seconds(), time.monotonic()
        asyncio.run(service.run(args.seconds))
        cpu = (_cpu_seconds() - cpu_before) / (time.monotonic() - started)
    latencies = sorted(service.writer.latencies_ms)
    if len(latencies) < 2:
        raise SystemExit(f"only {len(latencies)} candles written: nothing to measure")
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{args.streams} streams at {args.interval}, {args.seconds:.0f} s: {len(latencies):,} closed candles written")
    print(f"close→commit p50 {cuts[49]:.0f} ms, p99 {cuts[98]:.0f} ms, max {latencies[-1]:.0f} ms")
    print(f"stream service: {cpu:.0%} of one core, peak RSS {peak_rss_mb():.0f} MB (this process, the simulator apart)")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
