"""REST extraction against the weight budget when latency-bound: weight used per calendar minute.

Usage: .venv/bin/python -m benchmarks.weight_usage [--latency-ms 50] [--minutes 2] [--workers 4]
The simulator answers every request after ``--latency-ms`` and allows 6000 weight per minute (Binance's
limit). One process runs this project's extractor over 8 years of 1m klines per symbol with archives
off (all REST), more work than the measured minutes take; the benchmark reads the simulator's request
counts at each minute boundary and prints the weight used in each whole calendar minute, the share of
the limit, and whether any 429/418 was answered.
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

from benchmarks.common import ROOT, parse_args, simulator

EXTRACT = """
import shutil, sys
from pathlib import Path
from binance_airflow.hook import BinanceHook
from binance_airflow.kline_extract import extract_symbol
hook = BinanceHook()
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
    parser.add_argument("--workers", type=int, default=4)
    args = parse_args(parser, {"minutes": 0})
    with (
        simulator("--symbols", "BTCUSDT,ETHUSDT,BNBUSDT", "--latency-ms", str(args.latency_ms)) as (base, _),
        tempfile.TemporaryDirectory(prefix="bench-weight-") as tmp,
    ):
        env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}",
               "AIRFLOW_CONN_BINANCE_DEFAULT": json.dumps({"conn_type": "http", "host": base})}  # fmt: skip
        child = subprocess.Popen([sys.executable, "-c", EXTRACT, tmp, str(args.workers)], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            if args.minutes == 0:
                time.sleep(5)
                print(f"5 s: {2 * stats(base)['requests'].get('/api/v3/klines', 0)} weight used")
            else:
                time.sleep(60 - time.time() % 60 + 0.05)  # the first whole calendar minute starts now
            before = stats(base)["requests"].get("/api/v3/klines", 0)
            for minute in range(1, args.minutes + 1):
                time.sleep(60 - time.time() % 60 + 0.05)
                after = stats(base)["requests"].get("/api/v3/klines", 0)
                weight = 2 * (after - before)
                print(f"minute {minute}: {after - before} kline requests = weight {weight} of 6000 "
                      f"({weight / 60:.0f}%) at {args.latency_ms:.0f} ms latency, {args.workers} workers")  # fmt: skip
                before = after
            if child.poll() is not None:
                raise SystemExit(f"the extraction ended (exit {child.returncode}) before the measurement did")
        finally:
            child.kill()
            child.wait()
        totals = stats(base)["requests"]
        print(f"answered 429: {totals.get('HTTP 429', 0)}, 418: {totals.get('HTTP 418', 0)}")


if __name__ == "__main__":
    main()
