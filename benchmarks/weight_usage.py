"""REST extraction against the weight budget when latency-bound: weight used per calendar minute.

Usage: .venv/bin/python -m benchmarks.weight_usage [--latency-ms 50] [--minutes 2] [--workers 4]
       [--processes 1] [--limit 6000] [--redis redis://127.0.0.1:6379/1]
The simulator answers every request after ``--latency-ms`` and allows ``--limit`` weight per minute
(Binance's is 6000; it was 1200 until 2023). ``--processes`` processes (as many extract tasks on
several workers would be) each run this project's extractor with ``--workers`` threads over 8 years of
1m klines per symbol with archives off (all REST), more work than the measured minutes take; each first
reads exchangeInfo (which states the limit), as the DAG does. With ``--redis`` they share one budget
(BINANCE_ETL_WEIGHT_REDIS). The benchmark reads the simulator's request counts at each minute boundary
and prints the weight used in each whole calendar minute once every process runs, the share of the
limit, and whether any 429/418 was answered.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchmarks.common import ROOT, parse_args
from harness.simulator import simulator

EXTRACT = """
import shutil, sys
from pathlib import Path
from binance_airflow.binance.hook import BinanceHook
from binance_airflow.etl.kline_extract import extract_symbol
hook = BinanceHook()
hook.exchange_info()  # adopts the limit it states
for symbol in SYMBOLS:  # 8 years of 1m each; far more than the minutes measured
    folder = Path(sys.argv[1]) / symbol
    extract_symbol(hook, symbol, "1m", 1514764800000, 1514764800000 + 2922 * 86400000, folder, int(sys.argv[2]))
    shutil.rmtree(folder)
""".replace("SYMBOLS", repr(["BTCUSDT", "ETHUSDT", "BNBUSDT"]))


def stats(base_url: str) -> dict:
    with urllib.request.urlopen(base_url + "/_sim/stats", timeout=10) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--minutes", type=int, default=2, help="whole calendar minutes measured (0: five seconds)")
    parser.add_argument("--workers", type=int, default=4, help="threads per process")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--limit", type=int, default=6000, help="the simulator's weight limit per minute")
    parser.add_argument("--redis", default="", help="Redis URL of a budget shared by the processes")
    args = parse_args(parser, {"minutes": 0})
    sim_args = ["--symbols", "BTCUSDT,ETHUSDT,BNBUSDT", "--latency-ms", str(args.latency_ms)]
    with (
        simulator(*sim_args, "--weight-limit", str(args.limit)) as (base, _),
        tempfile.TemporaryDirectory(prefix="bench-weight-") as tmp,
    ):
        env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}",
            "BINANCE_ETL_WEIGHT_REDIS": args.redis,
            "AIRFLOW_CONN_BINANCE_DEFAULT": json.dumps({"conn_type": "http", "host": base}),
        }
        children = [
            subprocess.Popen(
                [sys.executable, "-c", EXTRACT, f"{tmp}/{i}", str(args.workers)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(args.processes)
        ]
        try:
            if args.minutes == 0:
                time.sleep(5)
                print(f"5 s: {2 * stats(base)['requests'].get('/api/v3/klines', 0)} weight used")
            else:  # measured from the first calendar minute that starts once every process is extracting
                while stats(base)["requests"].get("/api/v3/exchangeInfo", 0) < args.processes:
                    time.sleep(0.5)
                time.sleep(60 - time.time() % 60 + 0.05)
            before = stats(base)["requests"].get("/api/v3/klines", 0)
            for minute in range(1, args.minutes + 1):
                time.sleep(60 - time.time() % 60 + 0.05)
                after = stats(base)["requests"].get("/api/v3/klines", 0)
                weight = 2 * (after - before)
                budget = "one budget in Redis" if args.redis else "a budget each"
                print(
                    f"minute {minute}: {after - before} kline requests = weight {weight} of {args.limit} "
                    f"({100 * weight / args.limit:.0f}%) at {args.latency_ms:.0f} ms latency, {args.processes} "
                    f"process(es) x {args.workers} threads, {budget}"
                )
                before = after
            if any(child.poll() is not None for child in children):
                raise SystemExit("an extraction ended before the measurement did")
        finally:
            for child in children:
                child.kill()
                child.wait()
        totals = stats(base)["requests"]
        print(f"answered 429: {totals.get('HTTP 429', 0)}, 418: {totals.get('HTTP 418', 0)}")


if __name__ == "__main__":
    main()
