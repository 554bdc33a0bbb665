"""Kline requests/s the simulator serves on loopback: 1000-candle pages, keep-alive clients.

Usage: .venv/bin/python -m benchmarks.sim_throughput [--requests 2000] [--clients 2] [--interval 1m]
The server runs in its own process, as in tests and the demo; each client walks a different
stretch of history, so most pages are generated, not cached.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from benchmarks.common import parse_args

ROOT = Path(__file__).resolve().parents[1]
DAY0 = 1514764800000  # 2018-01-01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--interval", default="1m")
    args = parse_args(parser, {"requests": 20})
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "include.binance_sim",
            "--port",
            "0",
            "--symbols",
            "BTCUSDT",
            "--weight-limit",
            "10000000",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    base = server.stdout.readline().rsplit(" ", 1)[-1].strip()
    per_client = args.requests // args.clients
    candles = [0] * args.clients

    def client(index: int) -> None:
        session = requests.Session()
        start = DAY0 + index * 400 * 86_400_000
        for _ in range(per_client):
            params = {"symbol": "BTCUSDT", "interval": args.interval, "startTime": start, "limit": 1000}
            page = session.get(f"{base}/api/v3/klines", params=params, timeout=30).json()
            candles[index] += len(page)
            start = page[-1][0] + 1 if len(page) == 1000 else DAY0  # wrap around at "now"

    try:
        began = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait()
    total = per_client * args.clients
    print(f"interval={args.interval} clients={args.clients} requests={total} candles={sum(candles)}")
    rate = total / elapsed
    print(f"elapsed={elapsed:.2f}s  kline_requests_per_s={rate:.0f}  candles_per_s={sum(candles) / elapsed:.0f}")


if __name__ == "__main__":
    main()
