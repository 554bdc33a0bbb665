"""The real-time path under a stream fault every minute: the warehouse against the server afterwards.

Usage: .venv/bin/python -m benchmarks.stream_soak [--minutes 10] [--symbols 3]
Runs the stream service in its own process (as in production) at 1s against the simulator for
``--minutes``; at every minute one fault is injected, in turn: a dropped connection, a silent stall,
duplicated frames, out-of-order frames, serverShutdown, malformed frames, a forced connection-age
roll-over (the simulator closes connections after 20 s for a minute). Then every 1s candle from the first
one stored to the end is compared with the simulator's: missing, extra and differing candles, and how many
were healed over REST.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import time
import urllib.request
from decimal import Decimal

import MySQLdb

from benchmarks.common import fresh_warehouse, parse_args, use_connections
from harness.simulator import simulator, stream_service
from include.binance_sim.__main__ import parse_symbols
from include.binance_sim.market import Market

BENCH_DB = "binance_bench_stream_soak"
FAULTS = ["ws_drop", "ws_stall", "ws_duplicate", "ws_reorder", "ws_shutdown", "ws_malformed", "rollover"]


def control(base: str, path: str, body: dict) -> None:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def inject(base: str, kind: str) -> None:
    if kind == "rollover":
        control(base, "/_sim/config", {"ws_max_connection_s": 20})
    else:
        control(base, "/_sim/faults", {"kind": kind, "path": "/stream", "times": 3, "seconds": 8})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--symbols", type=int, default=3)
    args = parse_args(parser, {"minutes": 0.3, "symbols": 2})
    names = [f"S{i:04d}USDT" for i in range(args.symbols)]
    with simulator("--symbols", ",".join(names), "--start", "2026-01-01") as (base, streams):
        use_connections(base, BENCH_DB, stream_url=streams)
        fresh_warehouse(BENCH_DB)
        env = {
            **os.environ,
            "AIRFLOW_VAR_BINANCE_STREAM": json.dumps({"symbols": names, "intervals": ["1s"]}),
            "BINANCE_STREAM_LOOKBACK": "0",
            "BINANCE_STREAM_SILENCE": "4",
        }
        service = stream_service(env)
        started = time.time()
        for minute, kind in enumerate((FAULTS * 10)[: max(1, int(args.minutes))]):
            time.sleep(max(0.0, started + 20 + minute * 60 - time.time()))
            print(f"{time.time() - started:5.0f} s: {kind}", flush=True)
            inject(base, kind)
            if kind == "rollover":
                time.sleep(60 if args.minutes >= 2 else 5)
                control(base, "/_sim/config", {"ws_max_connection_s": 86400})
        time.sleep(max(0.0, started + args.minutes * 60 - time.time()))
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=120)
        ended_ms = int(time.time() * 1000) - 5000  # the last seconds may not have been healed yet
    summary = [line for line in output.splitlines() if "stream service stopped" in line]
    if service.returncode or not summary:
        raise SystemExit(f"the stream service failed:\n{output[-3000:]}")
    market = Market(parse_symbols(",".join(names), "2026-01-01"))
    conn = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=BENCH_DB)
    missing = extra = differing = total = 0
    for symbol in names:
        cur = conn.cursor()
        cur.execute(
            "SELECT open_time_ms, `open`, high, low, `close`, volume FROM fact_kline WHERE symbol = %s "
            "AND `interval` = '1s' AND open_time_ms < %s ORDER BY open_time",
            (symbol, ended_ms),
        )
        got = {row[0]: row[1:] for row in cur.fetchall()}
        table = market.klines(symbol, "1s", min(got), ended_ms - 1, 10**7)
        want = {
            int(o): tuple(Decimal(int(table[f][i])) / 10**8 for f in ("open", "high", "low", "close", "volume"))
            for i, o in enumerate(table["open_time"])
        }
        missing += len(want.keys() - got.keys())
        extra += len(got.keys() - want.keys())
        differing += sum(got[o] != want[o] for o in want.keys() & got.keys())
        total += len(want)
    healed = re.search(r"healed (\d+) candles over REST", summary[-1])
    print(
        f"{args.minutes:g} min at 1s, {args.symbols} symbols, {len(FAULTS[: max(1, int(args.minutes))])} kinds of "
        f"fault: {total:,} candles served; missing {missing}, extra {extra}, differing {differing}; "
        f"healed over REST {healed.group(1) if healed else '?'}"
    )
    print(summary[-1].split("stream service stopped: ", 1)[-1])
    if missing or extra or differing:
        raise SystemExit("the warehouse does not equal the server")


if __name__ == "__main__":
    main()
