"""The archive path end to end: N symbols' years of 1m klines from monthly archive files into MariaDB.

Usage: .venv/bin/python -m benchmarks.archive_path [--symbols 1] [--years 8] [--airflow [--loads 2]]
The simulator publishes monthly archives (data.binance.vision layout, SHA-256 checksums) for each
symbol from 2018-01-01; every file is downloaded once first (so the simulator has built and cached them
all before the clock starts) and its closes summed as the reference. Then the DAG's steps run outside
Airflow, one after the other: dimensions, extract (download, verify, unzip), transform (validated staging
CSVs), load (bulk upsert); prints seconds and rows/s per step, rows/s end to end and peak RSS. With
``--airflow`` one binance_etl run does it instead, under Airflow's scheduler (api-server, scheduler,
dag-processor, LocalExecutor with parallelism 4, harness/airflow_stack.py), where the batches of symbols
overlap (``--loads`` of them loaded at once): prints the run's wall time (started to finished), rows/s and
how long the kline steps' tasks, the reconciliation and the gate ran. Either way it checks that the
warehouse's row count and close checksum equal the files'.
"""

from __future__ import annotations

import argparse
import io
import urllib.request
import zipfile
from datetime import datetime
from decimal import Decimal
from typing import Any

from benchmarks.common import (
    airflow_deployment,
    archive_market,
    close_checksum,
    fresh_warehouse,
    parse_args,
    peak_rss_mb,
    run_steps,
    use_connections,
)
from harness.simulator import simulator
from include import settings
from include.transforms.archive import path as archive_path

BENCH_DB = "binance_bench_archive_path"


def published(base: str, symbols: list[str], labels: list[str]) -> tuple[int, int]:
    """Row count and sum of close * 10^8 of every archive file (fetching it makes the simulator build it)."""
    count = total = 0
    for symbol in symbols:
        for label in labels:
            with urllib.request.urlopen(base + archive_path(symbol, "1m", "monthly", label), timeout=300) as response:
                content = response.read()
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                text = archive.read(archive.namelist()[0]).decode("ascii")
            for line in io.StringIO(text):
                count += 1
                total += int(Decimal(line.split(",", 5)[4]) * 10**8)
    return count, total


def seconds_between(item: dict[str, Any]) -> float:
    """A run's or task instance's seconds from its start_date to its end_date."""
    return (datetime.fromisoformat(item["end_date"]) - datetime.fromisoformat(item["start_date"])).total_seconds()


def through_airflow(symbols: list[str], start: datetime, end: datetime, loads: int) -> float:
    """One binance_etl run of ``symbols`` over [start, end) under Airflow's scheduler, ``loads`` kline batches
    loaded at once; the run's seconds from start to end (the deployment's start-up not counted). Prints how
    long the tasks of the kline steps, the reconciliation and the gate ran (summed over a step's batches)."""
    local = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "BINANCE_ETL_KLINE_LOADS": str(loads),
    }
    with airflow_deployment("airflow_bench_archive_path", **local) as stack:
        conf = {"symbols": symbols, "interval": "1m", "start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}
        run_id = stack.api("POST", "/api/v2/dags/binance_etl/dagRuns", {"logical_date": None, "conf": conf})[
            "dag_run_id"
        ]
        if stack.wait_for_run(run_id, timeout=7200) != "success":
            raise SystemExit(f"the run failed; logs in {stack.home}")
        run = stack.api("GET", f"/api/v2/dags/binance_etl/dagRuns/{run_id}")
        instances = stack.task_instances(run_id)
    for task_id in (
        "klines.extract_klines",
        "klines.transform_klines",
        "klines.load_klines",
        "reconcile_fact_kline",
        "check_fact_kline",
    ):
        ran = [seconds_between(ti) for ti in instances if ti["task_id"] == task_id]
        print(f"{task_id:<24} {sum(ran):7.1f} s" + (f" in {len(ran)} task instances" if len(ran) > 1 else ""))
    return seconds_between(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=1, help="the majors, then S0005USDT…")
    parser.add_argument("--years", type=float, default=8, help="from 2018-01-01, in whole months")
    parser.add_argument("--airflow", action="store_true", help="one binance_etl run under Airflow's scheduler")
    parser.add_argument(
        "--loads",
        type=int,
        default=settings.KLINE_LOADS,
        help="with --airflow: kline batches loaded at once (BINANCE_ETL_KLINE_LOADS)",
    )
    args = parse_args(parser, {"years": 1 / 12, "symbols": 1})
    symbols, labels, start, end = archive_market(args.symbols, args.years)
    listed = ",".join(f"{s}@2018-01-01" for s in symbols)
    with simulator("--symbols", listed, "--cached-archives", str(len(symbols) * len(labels))) as (base, _):
        use_connections(base, BENCH_DB, archives=True)
        fresh_warehouse(BENCH_DB)
        reference = published(base, symbols, labels)
        if args.airflow:
            seconds = {"rows": float(reference[0]), "Airflow run": through_airflow(symbols, start, end, args.loads)}
        else:
            seconds = run_steps(symbols, "1m", int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    rows = int(seconds.pop("rows"))
    for step, took in seconds.items():
        print(f"{step:<10} {took:7.1f} s" + (f" = {rows / took:>9,.0f} rows/s" if step != "dimensions" else ""))
    total = sum(seconds.values())
    where = "one binance_etl run under Airflow" if args.airflow else f"peak RSS {peak_rss_mb():.0f} MB"
    print(
        f"end to end {total:7.1f} s = {rows / total:>9,.0f} rows/s for {rows:,} candles ({len(symbols)} "
        f"symbol(s) x {len(labels)} monthly archives of 1m); {where}"
    )
    mine = close_checksum(BENCH_DB)
    verdict = "IDENTICAL" if mine == reference else "DIFFER"
    print(f"rows and close checksum: warehouse {mine}, archive files {reference}: {verdict}")
    if mine != reference:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
