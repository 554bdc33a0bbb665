"""BI latency side by side: the views and dashboard calls over the summaries against the plain views over fact_kline.

Usage: .venv/bin/python -m benchmarks.bi_latency [--sizes 1x8,20x2] [--runs 5] [--plain-timeout 120]
For each size (symbols x years of 1m from 2018-01-01, from the simulator's monthly archives) the data goes twice
through binance_etl's steps (archive extract, Arrow transform, bulk upsert): into ``binance_bench_bi`` with the
summaries kept by the load, and into ``binance_bench_bi_plain`` without them (their upkeep switched off in this
process), which gets the views as they were before (``benchmarks/plain/``). Prints both load rates, then each
BI query and dashboard call: the median of ``--runs`` runs over the summaries, one run of the plain equivalent
(stopped after ``--plain-timeout`` seconds: printed as ``>``). Both warehouses hold the same candles (checked).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import MySQLdb

from benchmarks.common import archive_market, close_checksum, fresh_warehouse, parse_args, run_steps, use_connections
from harness.simulator import simulator
from include import settings

DB, PLAIN_DB = "binance_bench_bi", "binance_bench_bi_plain"
PLAIN = Path(__file__).resolve().parent / "plain"
Query = tuple[str, str, str]  # (label, scope: one symbol or the market, SQL)
PLAIN_VIEWS = ("v_daily_ohlcv", "v_monthly_returns")  # the views that existed before the summaries


def load(base: str, database: str, symbols: list[str], start: datetime, end: datetime, summaries: bool) -> float:
    """The symbols' candles into a fresh ``database`` through binance_etl's steps; the load step's rows/s."""
    from binance_airflow.warehouse import loads

    use_connections(base, database, archives=True)
    fresh_warehouse(database)
    kept = loads.summaries.read_staged
    if not summaries:  # the loads then neither read the files' days nor touch the summaries
        loads.summaries.read_staged = lambda path: None
    try:
        seconds = run_steps(symbols, "1m", int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    finally:
        loads.summaries.read_staged = kept
    return seconds["rows"] / seconds["load"]


def summaries_drift(symbols: list[str], first: date, end: date) -> int:
    from binance_airflow.warehouse import summaries

    rows = run_sql(DB, f"SELECT {summaries.drift(symbols, '1m', first, end)}")
    return int(rows[0][0]) if rows else -1


def sql_queries(symbol: str, last_day: date) -> list[Query]:
    year_ago = last_day - timedelta(days=365)
    one = f"symbol = '{symbol}' AND `interval` = '1m'"
    return [
        ("v_daily_ohlcv, one symbol, every day", "symbol", f"SELECT * FROM v_daily_ohlcv WHERE {one}"),
        (
            "v_daily_ohlcv, one symbol, last 365 days",
            "symbol",
            f"SELECT * FROM v_daily_ohlcv WHERE {one} AND trade_date >= '{year_ago}'",
        ),
        ("v_monthly_returns, one symbol", "symbol", f"SELECT * FROM v_monthly_returns WHERE {one}"),
        ("v_price_change, one symbol", "symbol", f"SELECT * FROM v_price_change WHERE {one}"),
        (
            "v_daily_ohlcv, the market's last day",
            "market",
            f"SELECT * FROM v_daily_ohlcv WHERE trade_date = '{last_day}'",
        ),
        ("v_monthly_returns, the market", "market", "SELECT * FROM v_monthly_returns"),
        ("v_price_change, the market", "market", "SELECT * FROM v_price_change"),
        ("v_top_worst, the market", "market", "SELECT * FROM v_top_worst WHERE top_rank <= 10 OR worst_rank <= 10"),
    ]


def timed(call: Callable[[], Any], runs: int) -> tuple[float, int]:
    """Median seconds of ``runs`` calls and the rows the last returned."""
    took, rows = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        took.append(time.perf_counter() - started)
        rows = len(result) if isinstance(result, list) else len(result.get("candles", result.get("per_symbol", [])))
    return statistics.median(took), rows


def run_sql(database: str, sql: str, timeout: float | None = None) -> list[tuple] | None:
    """The rows of ``sql`` on ``database``; None when MariaDB stopped it after ``timeout`` seconds."""
    conn = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=database)
    try:
        cur = conn.cursor()
        statement = f"SET STATEMENT max_statement_time = {timeout} FOR {sql}" if timeout else sql
        cur.execute(statement)
        return list(cur.fetchall())
    except MySQLdb.OperationalError as err:
        if err.args[0] == 1969:  # query execution was interrupted (max_statement_time exceeded)
            return None
        raise
    finally:
        conn.close()


def plain_time(sql: str, timeout: float) -> str:
    started = time.perf_counter()
    rows = run_sql(PLAIN_DB, sql, timeout)
    return f"> {timeout:.0f} s" if rows is None else f"{time.perf_counter() - started:.3f} s"


def dashboard_calls(symbols: list[str], first: datetime, end: datetime) -> list[tuple[str, str, Callable[[], Any]]]:
    from binance_dashboard import queries

    recent = end - timedelta(days=3)
    return [
        ("dashboard series list", "market", queries.series),
        ("dashboard candles, whole range", "symbol", lambda: queries.candles(symbols[0], "1m", first, end)),
        ("dashboard candles, last 3 days", "symbol", lambda: queries.candles(symbols[0], "1m", recent, end)),
        (
            "dashboard cards, one symbol, whole range",
            "symbol",
            lambda: queries.range_summary(symbols[:1], "1m", first.date(), end.date()),
        ),
        (
            "dashboard cards, the market, whole range",
            "market",
            lambda: queries.range_summary(symbols, "1m", first.date(), end.date()),
        ),
        ("dashboard top & worst", "market", lambda: queries.top_worst("1m")),
    ]


def plain_dashboard(symbol: str, first: datetime, end: datetime) -> dict[str, str]:
    """The dashboard calls as they were: the series list scanned fact_kline, the chart drew the newest 5,000
    candles of the range (no cards, no top & worst; 3 days of 1m are drawn as they are, then as now)."""
    newest = (
        f"SELECT open_time_ms, `open`, high, low, `close`, volume FROM fact_kline WHERE symbol = '{symbol}' "
        f"AND `interval` = '1m' AND open_time >= '{first:%Y-%m-%d}' AND open_time < '{end:%Y-%m-%d}' "
        "ORDER BY open_time DESC LIMIT 5001"
    )
    return {
        "dashboard series list": (PLAIN / "series.sql").read_text(),
        "dashboard candles, whole range": newest,
        "dashboard candles, last 3 days": newest.replace(f"{first:%Y-%m-%d}", f"{end - timedelta(days=3):%Y-%m-%d}"),
    }


def size(base_args: argparse.Namespace, count: int, years: float) -> None:
    symbols, labels, start, end = archive_market(count, years)
    listed = ",".join(f"{s}@2018-01-01" for s in symbols)
    print(f"\n== {count} symbol(s) x {len(labels)} months of 1m ==")
    with simulator("--symbols", listed, "--cached-archives", str(len(symbols) * len(labels))) as (base, _):
        plain_rate = load(base, PLAIN_DB, symbols, start, end, summaries=False)
        rate = load(base, DB, symbols, start, end, summaries=True)
    same = close_checksum(DB) == close_checksum(PLAIN_DB)
    print(f"candles {close_checksum(DB)[0]:,} in each warehouse, identical: {same}")
    drift = summaries_drift(symbols, start.date(), end.date())
    print(f"summaries equal the candles (the gate's check over every day): {drift == 0}")
    print(
        f"load rate: {rate:,.0f} rows/s keeping the summaries, {plain_rate:,.0f} rows/s without them "
        f"(upkeep costs {(1 - rate / plain_rate) * 100:.1f} %)"
    )
    run_sql(PLAIN_DB, (PLAIN / "views.sql").read_text())
    monthly = (settings.SQL_DIR / "views" / "v_monthly_returns.sql").read_text()
    run_sql(PLAIN_DB, monthly.replace("FROM agg_kline_daily", "FROM v_daily_ohlcv"))  # as it read before
    use_connections(None, DB)
    last_day = (end - timedelta(days=1)).date()
    print(f"{'query':<44} {'scope':<7} {'summaries (median)':>20} {'rows':>7} {'plain views':>12}")
    for label, scope, sql in sql_queries(symbols[0], last_day):
        took, rows = timed(lambda sql=sql: run_sql(DB, sql), base_args.runs)
        plain = plain_time(sql, base_args.plain_timeout) if sql.split()[3] in PLAIN_VIEWS else "new"
        print(f"{label:<44} {scope:<7} {took:>18.3f} s {rows:>7} {plain:>12}")
    old = plain_dashboard(symbols[0], start, end)
    for label, scope, call in dashboard_calls(symbols, start.replace(tzinfo=None), end.replace(tzinfo=None)):
        took, rows = timed(call, base_args.runs)
        plain = plain_time(old[label], base_args.plain_timeout) if label in old else "new"
        print(f"{label:<44} {scope:<7} {took:>18.3f} s {rows:>7} {plain:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1x8,20x2", help="symbols x years, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="runs per query over the summaries (the median)")
    parser.add_argument("--plain-timeout", type=float, default=120, help="seconds a plain view may take")
    args = parse_args(parser, {"sizes": "2x0.09", "runs": 1, "plain_timeout": 30})
    for spec in args.sizes.split(","):
        count, years = spec.split("x")
        size(args, int(count), float(years))


if __name__ == "__main__":
    main()
