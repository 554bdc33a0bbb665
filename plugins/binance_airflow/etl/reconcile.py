"""After a kline load, fact_kline is compared with Binance itself, symbol by symbol.

What the exchange is expected to have is the run's window cut to [the symbol's first candle, its last
closed candle] (asked of Binance only when the loaded candles do not already reach an edge). Every
open time the warehouse lacks in it is asked for again, range by range:
- candles Binance now serves are validated and loaded: the run heals itself, and says so;
- ranges Binance answers with no candle are exchange outages (maintenance, halts): they are recorded in
  ``kline_gap`` (and the ``v_kline_outages`` view) and listed in the run summary, and the run passes;
- anything still missing that Binance does serve (a candle that failed validation, or was lost after
  loading) fails the run, naming the symbol and the first missing open times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.providers.mysql.hooks.mysql import MySqlHook

from binance_airflow.binance.hook import KLINES_PAGE, BinanceHook, Kline
from binance_airflow.warehouse.connection import transaction, warehouse_hook
from binance_airflow.warehouse.lineage import report_load, report_read, report_written
from binance_airflow.warehouse.loads import LoadResult, record_rejects, upsert_csv
from binance_airflow.warehouse.tables import TABLES
from include.gaps import Hole, find_holes, grid, unbroken
from include.intervals import FIXED_MS, next_open
from include.run_window import RunWindow
from include.sql_files import sql
from include.transforms import klines
from include.transforms.klines import sql_datetime
from include.transforms.staging import read_csv, write_csv

log = logging.getLogger(__name__)
CONFIRMED_BY = "exchange_recheck"  # Binance, asked again for exactly the missing range, answered no candle
SHOWN = 5  # missing open times named per hole in a failure


@dataclass(frozen=True)
class Series:
    """One symbol's loaded candles in a window: first and last open time, and the jumps between them."""

    first: int | None
    last: int | None
    jumps: list[tuple[int, int]]


@dataclass
class Finding:
    """What reconciling one symbol found and did."""

    symbol: str
    loaded: LoadResult = field(default_factory=lambda: LoadResult("fact_kline", 0, 0, 0))  # the healing load
    rejects: list[tuple[Any, ...]] = field(default_factory=list)  # candles served again but invalid
    healed_opens: set[int] = field(default_factory=set)
    new: int = 0  # healed candles the load had not staged (Binance left them out of its first answers)
    outages: list[Hole] = field(default_factory=list)
    unexplained: list[tuple[Hole, str]] = field(default_factory=list)

    @property
    def healed(self) -> int:
        """Candles the heal inserted or corrected."""
        return self.loaded.inserted + self.loaded.updated


def loaded_series(db: MySqlHook, symbol: str, interval: str, start_ms: int, end_ms: int) -> Series:
    """The series' bounds, and its jumps: looked for (a window over every candle) only when the bounds do not
    already prove there is none, as they do for the common complete series."""
    step = FIXED_MS.get(interval, 0)
    params = {
        "symbol": symbol,
        "interval": interval,
        "start": sql_datetime(start_ms),
        "end": sql_datetime(end_ms),
        "months": int(interval == "1M"),
        "micros": step * 1000,
        "step": step,
    }
    count, first, last, low_phase, high_phase = db.get_first(sql("quality/kline_bounds.sql"), parameters=params)
    if first is None or unbroken(interval, count, first, last, (low_phase, high_phase)):
        return Series(first, last, [])
    jumps = db.get_records(sql("quality/kline_jumps.sql"), parameters=params)
    return Series(first, last, [(int(a), int(b)) for a, b in jumps])


def reconcile(
    window: RunWindow, staged: list[dict[str, Any]], folder: Path, run_id: str, hook: BinanceHook, now_ms: int
) -> dict[str, Any]:
    """Heal, record outages, and report (see the module docstring); the report's ``unexplained`` fail the run.

    ``staged`` are the kline transforms' outputs (the CSVs the load read), to tell healed candles the load
    had staged (and the warehouse then lost) from candles Binance had left out of its first answers.
    """
    db = warehouse_hook()
    findings = []
    csvs = {item["symbol"]: [Path(f["csv"]) for f in item["files"]] for item in staged}
    if window.end_ms > window.start_ms:
        for symbol in window.symbols:
            finding = _reconcile_symbol(db, hook, window, symbol, folder, run_id, now_ms)
            if finding.healed_opens:
                finding.new = len(finding.healed_opens - _staged_opens(csvs.get(symbol, [])))
            findings.append(finding)
    record_rejects(db, run_id, "fact_kline", [r for f in findings for r in f.rejects], batch="heal")
    return report(window.interval, findings)


def _reconcile_symbol(
    db: MySqlHook, hook: BinanceHook, window: RunWindow, symbol: str, folder: Path, run_id: str, now_ms: int
) -> Finding:
    interval, finding = window.interval, Finding(symbol)
    series = loaded_series(db, symbol, interval, window.start_ms, window.end_ms)
    expected = _expected(hook, series, window, symbol, now_ms)
    if expected is None:
        return finding
    start, end, anchor = expected
    holes = find_holes(interval, start, end, series.first, series.last, series.jumps, anchor)
    served = _ask_again(hook, symbol, interval, holes)
    batch = klines.transform_klines(served, symbol, interval, now_ms)
    finding.rejects = batch.rejects
    if batch.rows:
        csv_path = folder / "staging" / f"fact_kline.{symbol}.heal.csv"
        written = write_csv(csv_path, klines.COLUMNS, batch.rows)
        finding.loaded = upsert_csv(db, TABLES["fact_kline"], csv_path, written, run_id, len(batch.rejects))
        report_load(db, "fact_kline", csv_path, finding.loaded.inserted + finding.loaded.updated)
        finding.healed_opens = {row[3] for row in batch.rows}
        log.info(
            "%s %s: healed %d candles Binance served when asked again, first %s",
            symbol,
            interval,
            finding.healed,
            sql_datetime(batch.rows[0][3]),
        )
    if holes:
        series = loaded_series(db, symbol, interval, window.start_ms, window.end_ms)
        holes = find_holes(interval, start, end, series.first, series.last, series.jumps, anchor)
    reasons = {reject[2]: reject[3] for reject in batch.rejects}
    for hole in holes:
        inside = [row[0] for row in served if hole.first_ms <= row[0] < hole.end_ms]
        if inside:
            why = reasons.get(inside[0], "Binance serves it, yet it is not in fact_kline after loading")
            finding.unexplained.append((hole, why))
        else:
            finding.outages.append(hole)
            log.info(
                "%s %s: exchange outage, %d candles from %s to %s (Binance has none)",
                symbol,
                interval,
                hole.candles,
                sql_datetime(hole.first_ms),
                sql_datetime(hole.last_ms(interval)),
            )
    _record_outages(db, window, symbol, finding.outages, run_id)
    return finding


def _staged_opens(csvs: list[Path]) -> set[int]:
    """The open times (ms) in a symbol's staging CSVs."""
    column = klines.COLUMNS.index("open_time_ms")
    return {int(row[column]) for path in csvs for row in read_csv(path)[1]}


def _expected(
    hook: BinanceHook, series: Series, window: RunWindow, symbol: str, now_ms: int
) -> tuple[int, int, int | None] | None:
    """[start, end) of the open times Binance should have in the window, and a candle fixing the grid's phase.

    The exchange is asked for its first (listing) and newest candle only when the loaded series does not
    already reach that edge of the window. None when Binance has no candle at all.
    """
    interval, start, end, anchor = window.interval, window.start_ms, window.end_ms, series.first
    if series.first is None or grid(start, series.first, interval, series.first):
        first = hook.first_kline(symbol, interval)
        if first is None:
            return None
        start, anchor = max(start, first[0]), anchor if anchor is not None else first[0]
    if series.last is None or grid(next_open(series.last, interval), end, interval, series.last):
        newest = hook.last_kline(symbol, interval)
        if newest is None:
            return None
        end = min(end, newest[0] if newest[6] >= now_ms else next_open(newest[0], interval))  # still open: not yet
    return start, end, anchor


def _ask_again(hook: BinanceHook, symbol: str, interval: str, holes: list[Hole]) -> list[Kline]:
    """Binance's candles inside ``holes``; holes close together are asked for in one range (a page or so)."""
    reach = KLINES_PAGE * FIXED_MS.get(interval, FIXED_MS["1w"] * 5)
    spans: list[list[Hole]] = []
    for hole in holes:
        if spans and hole.end_ms - spans[-1][0].first_ms <= reach:
            spans[-1].append(hole)
        else:
            spans.append([hole])
    served = []
    for span in spans:
        for row in hook.iter_klines(symbol, interval, span[0].first_ms, span[-1].end_ms):
            if any(hole.first_ms <= row[0] < hole.end_ms for hole in span):
                served.append(row)
    return served


def _record_outages(db: MySqlHook, window: RunWindow, symbol: str, outages: list[Hole], run_id: str) -> None:
    """Replace the window's kline_gap rows of ``symbol`` with ``outages`` (a hole since healed disappears)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    with transaction(db) as cur:
        cur.execute(
            "DELETE FROM kline_gap WHERE symbol = %s AND `interval` = %s "
            "AND first_missing >= %s AND first_missing < %s",
            (symbol, window.interval, sql_datetime(window.start_ms), sql_datetime(window.end_ms)),
        )
        cur.executemany(
            "INSERT INTO kline_gap (symbol, `interval`, first_missing, last_missing, candles_missing, confirmed_by, "
            "dag_run_id, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    symbol,
                    window.interval,
                    sql_datetime(h.first_ms),
                    sql_datetime(h.last_ms(window.interval)),
                    h.candles,
                    CONFIRMED_BY,
                    run_id,
                    now,
                )
                for h in outages
            ],
        )
    report_read(db, "fact_kline")
    report_written(db, "kline_gap", len(outages))


def report(interval: str, findings: list[Finding]) -> dict[str, Any]:
    """The reconciliation as the run summary shows it (JSON-serialisable)."""
    heal = LoadResult("fact_kline", 0, 0, 0)
    for finding in findings:
        heal.add(finding.loaded)

    def hole(symbol: str, h: Hole) -> dict[str, Any]:
        return {
            "symbol": symbol,
            "interval": interval,
            "first_missing": sql_datetime(h.first_ms),
            "first_missing_ms": h.first_ms,
            "last_missing": sql_datetime(h.last_ms(interval)),
            "candles": h.candles,
            "open_times": [sql_datetime(o) for o in _first_opens(h, interval)],
        }

    return {
        "healed": {f.symbol: f.healed for f in findings if f.healed},
        "heal": heal.as_dict() | {"new_rows": sum(f.new for f in findings)},
        "outages": [hole(f.symbol, h) for f in findings for h in f.outages],
        "unexplained": [hole(f.symbol, h) | {"why": why} for f in findings for h, why in f.unexplained],
    }


def _first_opens(hole: Hole, interval: str) -> list[int]:
    """The open times of the hole's first ``SHOWN`` missing candles."""
    opens = [hole.first_ms]
    while len(opens) < min(hole.candles, SHOWN):
        opens.append(next_open(opens[-1], interval))
    return opens


def failure(report_: dict[str, Any]) -> str:
    """The error of a run whose warehouse lacks candles Binance serves: each symbol, its first missing times."""
    parts = [
        f"{u['symbol']} {u['interval']}: {u['candles']} missing from {u['first_missing']} "
        f"(first missing open times {', '.join(u['open_times'])}) - {u['why']}"
        for u in report_["unexplained"]
    ]
    return "fact_kline lacks candles that Binance serves: " + "; ".join(parts)
