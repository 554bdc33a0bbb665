"""fact_kline's summaries, kept by its writers: ``agg_kline_daily`` (per series and UTC day) and ``agg_kline_series``
(per series: first and last candle, candles, days).

Every write of candles (``loads.upsert_csv``, ``upsert_rows``, ``insert_new``) keeps them in its own transaction.
A bulk load whose every candle is new (its fast path) inserts the days the summaries do not hold yet from its
file's day aggregates, computed with Arrow, without reading the candles back (``refresh_new``). Any other day a
write touched is recomputed from fact_kline itself (``refresh``): one aggregate over those days, the day's first
open and last close read through the key at its first and last open time; recomputing instead of adding keeps
them exact when a candle is updated and unchanged when a load is run again. The stream's upserts (``upserted_rows``)
merge the next candles of a day into its row when they all open after its last candle (the day's candles are not
read again: a second-candle day stays as cheap at 23:59 as at 00:01). The series' coverage moves by what
its days changed (their totals read with locks before and after, so a concurrent writer's days count once). A
reader's snapshot holds candles and their summaries together or neither.

``rebuild`` recomputes them for an existing warehouse; ``drift`` is the gate's SQL: the days (and series) whose
summary differs from the candles.
"""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from binance_airflow.warehouse.connection import transaction, warehouse_hook
from include import symbol_selection
from include.intervals import validate_interval
from include.transforms.staging import NULL

log = logging.getLogger(__name__)

SOURCE, DAILY, SERIES = "fact_kline", "agg_kline_daily", "agg_kline_series"
ONE_DAY = timedelta(days=1)
SPANS_PER_STATEMENT = 200  # touched day ranges per aggregate statement
REBUILD_DAYS = 92  # days recomputed per statement when rebuilding a series


@dataclass(frozen=True)
class Span:
    """Consecutive UTC days ``[first_day, end_day)`` of one series."""

    symbol: str
    interval: str
    first_day: date
    end_day: date


def spans(keys: Iterable[tuple[str, str, Any]]) -> list[Span]:
    """``(symbol, interval, open time)`` keys (a date, datetime or ``YYYY-MM-DD…`` text) → the days they fall on,
    as runs of consecutive days per series."""
    days: dict[tuple[str, str], set[date]] = defaultdict(set)
    for symbol, interval, open_time in keys:
        days[(symbol, interval)].add(date.fromisoformat(str(open_time)[:10]))
    found = []
    for (symbol, interval), touched in sorted(days.items()):
        ordered = sorted(touched)
        first = previous = ordered[0]
        for day in ordered[1:]:
            if day != previous + ONE_DAY:
                found.append(Span(symbol, interval, first, previous + ONE_DAY))
                first = day
            previous = day
        found.append(Span(symbol, interval, first, previous + ONE_DAY))
    return found


@dataclass(frozen=True)
class Staged:
    """A fact_kline staging CSV day by day: the days it touches, and their rows (``_DAY_COLUMNS`` order) as its
    candles alone make them, which a load inserting every candle as new merges into the summaries."""

    spans: list[Span]
    days: list[tuple[Any, ...]]


_DECIMAL = pa.decimal128(36, 8)
_STAGED_TYPES = {
    "symbol": pa.string(),
    "interval": pa.string(),
    "open_time": pa.string(),
    "open": pa.string(),  # text for first/last (Arrow has no first/last of decimals); exact either way
    "high": _DECIMAL,
    "low": _DECIMAL,
    "close": pa.string(),
    "volume": _DECIMAL,
    "quote_volume": _DECIMAL,
    "trades": pa.int64(),
}


def read_staged(csv_path: Path) -> Staged:
    """The days of a fact_kline staging CSV and their aggregates, in one Arrow read of the columns they need."""
    table = pa_csv.read_csv(
        csv_path,
        convert_options=pa_csv.ConvertOptions(
            include_columns=list(_STAGED_TYPES), column_types=_STAGED_TYPES, null_values=[NULL]
        ),
    )
    if table.num_rows == 0:
        return Staged([], [])
    table = table.append_column("day", pc.utf8_slice_codeunits(table["open_time"], 0, 10))
    table = table.append_column("close_value", pc.cast(table["close"], _DECIMAL))
    table = table.sort_by([("symbol", "ascending"), ("interval", "ascending"), ("open_time", "ascending")])
    keys = ["symbol", "interval", "day"]
    grouped = table.group_by(keys, use_threads=False).aggregate(
        [
            ("open", "first"),
            ("high", "max"),
            ("low", "min"),
            ("close", "last"),
            ("volume", "sum"),
            ("quote_volume", "sum"),
            ("trades", "sum"),
            ("close_value", "sum"),
            ("open_time", "count"),
            ("open_time", "min"),
            ("open_time", "max"),
        ]
    )
    order = [*keys, "open_first", "high_max", "low_min", "close_last", "volume_sum", "quote_volume_sum"]
    order += ["trades_sum", "close_value_sum", "open_time_count", "open_time_min", "open_time_max"]
    days = list(zip(*(grouped[name].to_pylist() for name in order), strict=True))
    return Staged(spans((day[0], day[1], day[2]) for day in days), days)


def _condition(chunk: Sequence[Span], column: str, as_day: bool) -> tuple[str, list[Any]]:
    """WHERE condition (with its parameters) selecting ``chunk``'s days by ``column`` (a time, or a date)."""
    one = f"(symbol = %s AND `interval` = %s AND {column} >= %s AND {column} < %s)"
    suffix = "" if as_day else " 00:00:00"
    params: list[Any] = []
    for span in chunk:
        params += [span.symbol, span.interval, f"{span.first_day}{suffix}", f"{span.end_day}{suffix}"]
    return " OR ".join([one] * len(chunk)), params


_DAY_COLUMNS = (
    "symbol, `interval`, trade_date, `open`, high, low, `close`, volume, quote_volume, trades, sum_close, candles, "
    "first_open_time, last_open_time"
)


def _days_from_candles(where: str) -> str:
    """SELECT of the daily rows (``_DAY_COLUMNS``) of the candles matching ``where``: the day aggregates first, then
    each day's first and last candle looked up by key. The join order and the key are forced: a table whose
    statistics say it is empty (a new warehouse, a server restarted) would otherwise be scanned whole for each day
    (44,640 candles took minutes instead of 0.07 s)."""
    return (
        "SELECT STRAIGHT_JOIN g.symbol, g.`interval`, g.trade_date, f.`open`, g.high, g.low, l.`close`, g.volume, "
        "g.quote_volume, "
        "g.trades, g.sum_close, g.candles, g.first_open_time, g.last_open_time "
        "FROM (SELECT symbol, `interval`, DATE(open_time) AS trade_date, MAX(high) AS high, MIN(low) AS low, "
        "SUM(volume) AS volume, SUM(quote_volume) AS quote_volume, SUM(trades) AS trades, SUM(`close`) AS sum_close, "
        "COUNT(*) AS candles, MIN(open_time) AS first_open_time, MAX(open_time) AS last_open_time "
        f"FROM {SOURCE} WHERE {where} GROUP BY symbol, `interval`, DATE(open_time)) AS g "
        f"JOIN {SOURCE} f FORCE INDEX (PRIMARY) "
        "ON f.symbol = g.symbol AND f.`interval` = g.`interval` AND f.open_time = g.first_open_time "
        f"JOIN {SOURCE} l FORCE INDEX (PRIMARY) "
        "ON l.symbol = g.symbol AND l.`interval` = g.`interval` AND l.open_time = g.last_open_time"
    )


def _upsert_days(where: str) -> str:
    updates = ", ".join(f"{c} = VALUES({c})" for c in _DAY_COLUMNS.split(", ")[3:])
    return f"INSERT INTO {DAILY} ({_DAY_COLUMNS}) {_days_from_candles(where)} ON DUPLICATE KEY UPDATE {updates}"


def _series_totals(cur: Any, where: str, params: list[Any]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Per series: (days, candles, first open, last open) of the daily rows matching ``where``, locked."""
    cur.execute(
        f"SELECT symbol, `interval`, COUNT(*), COALESCE(SUM(candles), 0), MIN(first_open_time), MAX(last_open_time) "
        f"FROM {DAILY} WHERE {where} GROUP BY symbol, `interval` FOR UPDATE",
        params,
    )
    return {(row[0], row[1]): tuple(row[2:]) for row in cur.fetchall()}


def _chunks(items: Sequence[Span], size: int) -> Iterator[Sequence[Span]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refresh(cur: Any, touched: Sequence[Span]) -> None:
    """Recompute the ``touched`` days of agg_kline_daily from fact_kline and move each touched series' coverage by
    what its days changed, inside the caller's transaction (after it wrote the candles)."""
    for chunk in _chunks(touched, SPANS_PER_STATEMENT):
        _write_days(cur, chunk, None)


def refresh_new(cur: Any, staged: Staged) -> None:
    """``refresh`` for a staged file whose every candle the caller just inserted as new: days the summaries do not
    hold yet are inserted from the file's own aggregates, without reading the candles back (a backfill's case);
    days they already hold are recomputed from the table (which also mends a day whose candles changed behind
    the writers' backs)."""
    for chunk in _chunks(staged.spans, SPANS_PER_STATEMENT):
        inside = {(s.symbol, s.interval, str(s.first_day + timedelta(days=d))) for s in chunk for d in _days(s)}
        _write_days(cur, chunk, [day for day in staged.days if day[:3] in inside])


def _days(span: Span) -> range:
    return range((span.end_day - span.first_day).days)


def _write_days(cur: Any, chunk: Sequence[Span], new_days: list[tuple[Any, ...]] | None) -> None:
    """Write ``chunk``'s days of agg_kline_daily (``new_days`` when given and none of them is held yet, else
    recomputed from the candles), then move each of its series' coverage by what its days changed: their totals
    read, locked, before and after."""
    days, params = _condition(chunk, "trade_date", as_day=True)
    before = _series_totals(cur, days, params)
    if new_days is not None and not before:
        marks = ", ".join(["%s"] * len(_DAY_COLUMNS.split(", ")))
        cur.executemany(f"INSERT INTO {DAILY} ({_DAY_COLUMNS}) VALUES ({marks})", new_days)
    else:
        candles, candle_params = _condition(chunk, "open_time", as_day=False)
        cur.execute(_upsert_days(candles), candle_params)
    after = _series_totals(cur, days, params)
    rows = []
    for series, (day_count, candle_count, first, last) in after.items():
        old_days, old_candles = before.get(series, (0, 0))[:2]
        rows.append((*series, first, last, candle_count - old_candles, day_count - old_days))
    cur.executemany(
        f"INSERT INTO {SERIES} (symbol, `interval`, first_open_time, last_open_time, candles, days) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
        "first_open_time = LEAST(first_open_time, VALUES(first_open_time)), "
        "last_open_time = GREATEST(last_open_time, VALUES(last_open_time)), "
        "candles = candles + VALUES(candles), days = days + VALUES(days)",
        rows,
    )


def refresh_rows(cur: Any, rows: Sequence[Sequence[Any]]) -> None:
    """``refresh`` for fact_kline rows just written (``klines.COLUMNS`` order: symbol, interval, open_time first)."""
    refresh(cur, spans((row[0], row[1], row[2]) for row in rows))


_MERGE_DAY = (
    f"UPDATE {DAILY} SET high = COALESCE(GREATEST(high, %s), high, %s), low = COALESCE(LEAST(low, %s), low, %s), "
    "`close` = %s, volume = IF(%s IS NULL, volume, COALESCE(volume, 0) + %s), "
    "quote_volume = IF(%s IS NULL, quote_volume, COALESCE(quote_volume, 0) + %s), "
    "trades = IF(%s IS NULL, trades, COALESCE(trades, 0) + %s), sum_close = IF(%s IS NULL, sum_close, "
    "COALESCE(sum_close, 0) + %s), candles = candles + %s, last_open_time = %s "
    "WHERE symbol = %s AND `interval` = %s AND trade_date = %s"
)
_MERGE_SERIES = (
    f"UPDATE {SERIES} SET candles = candles + %s, last_open_time = GREATEST(last_open_time, %s) "
    "WHERE symbol = %s AND `interval` = %s"
)


def upserted_rows(cur: Any, rows: Sequence[Sequence[Any]]) -> None:
    """``refresh_rows`` for rows just upserted (the last row of a key won), the stream's hot path: a day whose
    summary ends before the rows' first candle on it (the next candles of today) has them merged in without
    reading the day's candles again; every other day is recomputed (``refresh``)."""
    latest = {(row[0], row[1], str(row[2])): row for row in rows}
    batches: dict[tuple[str, str, str], list[Sequence[Any]]] = defaultdict(list)
    for key in sorted(latest):
        batches[(key[0], key[1], key[2][:10])].append(latest[key])
    if not batches:
        return
    keys = list(batches)
    cur.execute(
        f"SELECT symbol, `interval`, trade_date, last_open_time FROM {DAILY} WHERE "
        + " OR ".join(["(symbol = %s AND `interval` = %s AND trade_date = %s)"] * len(keys))
        + " FOR UPDATE",
        [value for key in keys for value in key],
    )
    ends = {(symbol, interval, str(day)): last for symbol, interval, day, last in cur.fetchall()}
    merged = [key for key in keys if key in ends and ends[key] < datetime.fromisoformat(str(batches[key][0][2]))]
    cur.executemany(_MERGE_DAY, [(*_merge_values(batches[key]), *key) for key in merged])
    cur.executemany(_MERGE_SERIES, [(len(batches[key]), batches[key][-1][2], *key[:2]) for key in merged])
    refresh(cur, spans(row[:3] for key in keys if key not in merged for row in batches[key]))


def _merge_values(rows: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """``_MERGE_DAY``'s values for one day's new ``rows`` (in open time order; ``klines.COLUMNS``)."""

    def total(index: int) -> Any:
        values = [Decimal(str(row[index])) for row in rows if row[index] is not None]
        return sum(values) if values else None

    highs = [Decimal(str(row[6])) for row in rows if row[6] is not None]
    lows = [Decimal(str(row[7])) for row in rows if row[7] is not None]
    high, low = max(highs, default=None), min(lows, default=None)
    volume, quote_volume, trades, closes = total(9), total(11), total(12), total(8)
    return (
        *(high, high, low, low, rows[-1][8]),
        *(volume, volume, quote_volume, quote_volume, trades, trades, closes, closes),
        *(len(rows), rows[-1][2]),
    )


def drift(symbols: Sequence[str], interval: str, first_day: date, end_day: date) -> str:
    """SQL counting the days ``[first_day, end_day)`` of ``symbols`` at ``interval`` whose agg_kline_daily row
    differs from their candles, plus those series whose agg_kline_series row differs from their daily rows (each
    side without an identical twin counts: a differing row counts twice, a missing one once); 0 when the
    summaries are exact. Every symbol and the interval are validated here, where
    they are rendered into the SQL."""
    for symbol in symbols:
        symbol_selection.check(symbol, patterns=False)
    names = ", ".join(f"'{symbol}'" for symbol in symbols) or "NULL"
    series = f"symbol IN ({names}) AND `interval` = '{validate_interval(interval)}'"
    candles = f"{series} AND open_time >= '{first_day} 00:00:00' AND open_time < '{end_day} 00:00:00'"
    days = f"{series} AND trade_date >= '{first_day}' AND trade_date < '{end_day}'"
    coverage = "symbol, `interval`, first_open_time, last_open_time, candles, days"
    return (
        "(SELECT COUNT(*) FROM (SELECT 1 FROM ("
        f"{_days_from_candles(candles)} UNION ALL SELECT {_DAY_COLUMNS} FROM {DAILY} WHERE {days}"
        f") AS both_sides GROUP BY {_DAY_COLUMNS} HAVING COUNT(*) <> 2) AS differing_days) + "
        "(SELECT COUNT(*) FROM (SELECT 1 FROM ("
        "SELECT symbol, `interval`, MIN(first_open_time) AS first_open_time, MAX(last_open_time) AS last_open_time, "
        f"SUM(candles) AS candles, COUNT(*) AS days FROM {DAILY} WHERE {series} GROUP BY symbol, `interval` "
        f"UNION ALL SELECT {coverage} FROM {SERIES} WHERE {series}"
        f") AS both_sides GROUP BY {coverage} HAVING COUNT(*) <> 2) AS differing_series)"
    )


def series_in(cur: Any) -> Iterator[tuple[str, str]]:
    """Every (symbol, interval) fact_kline holds, one key seek each (MariaDB has no loose index scan here)."""
    cur.execute(f"SELECT symbol, `interval` FROM {SOURCE} ORDER BY symbol, `interval` LIMIT 1")
    row = cur.fetchone()
    while row:
        yield row[0], row[1]
        cur.execute(
            f"SELECT symbol, `interval` FROM {SOURCE} WHERE (symbol = %s AND `interval` > %s) OR symbol > %s "
            "ORDER BY symbol, `interval` LIMIT 1",
            (row[0], row[1], row[0]),
        )
        row = cur.fetchone()


def rebuild_series(cur: Any, symbol: str, interval: str) -> int:
    """Recompute one series' summaries from its candles (its summaries dropped first: days left without candles go
    too), ``REBUILD_DAYS`` at a time, in the caller's transaction; returns its candles."""
    cur.execute(
        f"SELECT DATE(MIN(open_time)), DATE(MAX(open_time)) FROM {SOURCE} WHERE symbol = %s AND `interval` = %s",
        (symbol, interval),
    )
    first, last = cur.fetchone()
    for table in (DAILY, SERIES):
        cur.execute(f"DELETE FROM {table} WHERE symbol = %s AND `interval` = %s", (symbol, interval))
    if first is None:
        return 0
    day = first
    while day <= last:
        end = min(day + timedelta(days=REBUILD_DAYS), last + ONE_DAY)
        refresh(cur, [Span(symbol, interval, day, end)])
        log.info("rebuilt %s %s summaries: %s to %s of %s to %s", symbol, interval, day, end - ONE_DAY, first, last)
        day = end
    cur.execute(f"SELECT candles FROM {SERIES} WHERE symbol = %s AND `interval` = %s", (symbol, interval))
    return int(cur.fetchone()[0])


def rebuild(hook: Any, symbols: Sequence[str] = ()) -> dict[str, int]:
    """Recompute the summaries of every series in fact_kline (or of ``symbols``' series), one transaction per
    series, progress in the log; returns candles per series (``"BTCUSDT 1m"``)."""
    with transaction(hook) as cur:
        found = [s for s in series_in(cur) if not symbols or s[0] in symbols]
    log.info("rebuilding the summaries of %d series", len(found))
    done: dict[str, int] = {}
    for number, (symbol, interval) in enumerate(found, 1):
        with transaction(hook) as cur:
            candles = done[f"{symbol} {interval}"] = rebuild_series(cur, symbol, interval)
        log.info("series %d of %d: %s %s, %d candles summarised", number, len(found), symbol, interval, candles)
    return done


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m binance_airflow.warehouse.summaries [SYMBOL ...]``: rebuild the warehouse's summaries."""
    parser = argparse.ArgumentParser(description="Recompute agg_kline_daily and agg_kline_series from fact_kline.")
    parser.add_argument("symbols", nargs="*", help="only these symbols' series (default: every series)")
    args = parser.parse_args(argv)
    done = rebuild(warehouse_hook(), [s.upper() for s in args.symbols])
    log.info("summaries rebuilt: %d series, %d candles", len(done), sum(done.values()))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    main()
