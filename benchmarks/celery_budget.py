"""One weight budget across Celery workers: binance_etl runs on two workers, 8 extract tasks at once.

Usage: .venv/bin/python -m benchmarks.celery_budget [--limits 6000 1200] [--minutes 2] [--latency-ms 50]
       [--no-redis]
Starts the simulator (``--latency-ms`` per request; archives off, so every candle costs weight) and a
CeleryExecutor deployment (harness/airflow_stack.py: api-server, scheduler, dag-processor, two Celery workers
of 6 slots each, PostgreSQL metadata, Redis broker) whose tasks share one budget in Redis
(BINANCE_ETL_WEIGHT_REDIS; ``--no-redis``: each task counts its own). For each limit in ``--limits`` it sets
the simulator's weight limit (exchangeInfo states it, the tasks adopt it), triggers two binance_etl runs of
8 symbols x 2 years of 1m each (one batch per symbol; each run extracts 4 batches at once, each with 4
threads), waits until 8 extract tasks run on the two workers together, then prints the weight the simulator
accepted in each whole calendar minute, its share of the limit, the fewest extract tasks seen running in
that minute and on which workers, and every 429/418 answered. The runs are then failed and the next limit
measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
import urllib.request
from collections import Counter
from typing import Any

from benchmarks.common import airflow_deployment, fresh_warehouse, parse_args, use_connections
from harness.airflow_stack import AirflowStack
from harness.simulator import simulator

METADATA_DB = "airflow_bench_budget"
BENCH_DB = "binance_bench_budget"
BUDGET_REDIS_DB = 12
WORKERS = ("worker-a", "worker-b")
SYMBOLS = [f"S{i:04d}USDT" for i in range(16)]
CONCURRENT = 8  # extract tasks: 2 runs x the DAG's max_active_tis_per_dagrun of 4


def sim_call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def running_extracts(stack: AirflowStack, run_ids: list[str]) -> Counter[str]:
    """Extract task instances running now, per worker."""
    return Counter(
        ti["hostname"] or "?"
        for run_id in run_ids
        for ti in stack.task_instances(run_id)
        if ti["task_id"] == "klines.extract_klines" and ti["state"] == "running"
    )


def measure(stack: AirflowStack, base: str, limit: int, minutes: int) -> None:
    """One limit: two runs, then the weight of each whole minute once 8 extract tasks run."""
    sim_call(base, "POST", "/_sim/config", {"weight_limit": limit})
    subprocess.run(["redis-cli", "-n", str(BUDGET_REDIS_DB), "FLUSHDB"], check=True, capture_output=True)
    conf = {"interval": "1m", "start": "2022-01-01", "end": "2024-01-01"}
    run_ids = [
        stack.api(
            "POST",
            "/api/v2/dags/binance_etl/dagRuns",
            {"logical_date": None, "conf": {**conf, "symbols": SYMBOLS[half * 8 : half * 8 + 8]}},
        )["dag_run_id"]
        for half in (0, 1)
    ]
    deadline = time.monotonic() + 300
    while sum((running := running_extracts(stack, run_ids)).values()) < CONCURRENT:
        if time.monotonic() > deadline:
            raise SystemExit(f"{CONCURRENT} extract tasks never ran at once (running: {dict(running)})\n{stack.logs()}")
        time.sleep(2)
    print(f"limit {limit}: {sum(running.values())} extract tasks running ({dict(running)})", flush=True)
    rejected_before = sim_call(base, "GET", "/_sim/stats")["requests"]
    if minutes == 0:
        time.sleep(5)
    else:
        time.sleep(60 - time.time() % 60 + 0.05)
    for _ in range(minutes):
        minute = int(time.time() // 60)
        fewest: Counter[str] | None = None
        while time.time() < (minute + 1) * 60:
            now = running_extracts(stack, run_ids)
            if fewest is None or sum(now.values()) < sum(fewest.values()):
                fewest = now
            time.sleep(max(0.0, min(3.0, (minute + 1) * 60 - time.time())))
        time.sleep(0.5)
        weight = int(sim_call(base, "GET", "/_sim/stats")["weight_by_minute"].get(str(minute), 0))
        print(
            f"  {time.strftime('%H:%M', time.gmtime(minute * 60))} UTC: weight {weight} of {limit} "
            f"({100 * weight / limit:.0f}%); extract tasks running, fewest seen: {sum(fewest.values())} "
            f"({dict(fewest)})",
            flush=True,
        )
    after = sim_call(base, "GET", "/_sim/stats")["requests"]
    for status in ("HTTP 429", "HTTP 418"):
        print(
            f"  answered {status}: {after.get(status, 0) - rejected_before.get(status, 0)} while measured, "
            f"{after.get(status, 0)} since the start"
        )
    for run_id in run_ids:
        stack.api("PATCH", f"/api/v2/dags/binance_etl/dagRuns/{run_id}", {"state": "failed"})
    deadline = time.monotonic() + 120
    while sum(running_extracts(stack, run_ids).values()) and time.monotonic() < deadline:
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limits", type=int, nargs="+", default=[6000, 1200], help="weight limits per minute")
    parser.add_argument("--minutes", type=int, default=2, help="whole calendar minutes per limit (0: five seconds)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-redis", action="store_true", help="each task counts its own weight")
    args = parse_args(parser, {"minutes": 0, "limits": [6000]})
    listed = ",".join(f"{s}@2018-01-01" for s in SYMBOLS)
    budget = "" if args.no_redis else f"redis://127.0.0.1:6379/{BUDGET_REDIS_DB}"
    counting = "each task counting its own weight" if args.no_redis else "one budget in Redis"
    with simulator("--symbols", listed, "--latency-ms", str(args.latency_ms)) as (base, _):
        use_connections(base, BENCH_DB, archives=False)
        fresh_warehouse(BENCH_DB)
        print(f"{len(WORKERS)} Celery workers x 6 slots, {args.latency_ms:.0f} ms latency, {counting}", flush=True)
        celery = {"AIRFLOW__CELERY__WORKER_CONCURRENCY": "6", "BINANCE_ETL_WEIGHT_REDIS": budget}
        with airflow_deployment(METADATA_DB, WORKERS, **celery) as stack:
            for number, limit in enumerate(args.limits):
                if number:  # a fresh minute: the weight the previous limit's runs used is past
                    time.sleep(60 - time.time() % 60 + 0.5)
                measure(stack, base, limit, args.minutes)


if __name__ == "__main__":
    main()
