"""A source's records as warehouse rows: numbers, times and symbols normalised as the spec says, then the API
path's own validation (``klines.parse_kline``, ``snapshots.balance_rows``, ``snapshots.ticker_rows``).

A record is a dict keyed by lower-cased source column names. Every function here raises ``InvalidValue`` (or
another ``ValueError``) naming what is wrong, so the caller rejects the record with that reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from include import symbol_selection
from include.imports.spec import FIELDS, SYMBOL_TARGETS, SourceSpec
from include.intervals import FIXED_MS, next_open
from include.settings import DEFAULT_ACCOUNT
from include.transforms import klines, snapshots
from include.transforms.klines import sql_datetime
from include.transforms.values import moment_ms, number
from include.validation import InvalidValue

KLINE_ARRAY = klines.ARRAY_FIELDS  # the positions of Binance's kline array, as kline_arrays files hold it
MONTH_MS = (28 * 86_400_000, 31 * 86_400_000)  # the spacing of 1M candles


def field_of(record: dict[str, Any], spec: SourceSpec, target_field: str, required: bool = True) -> Any:
    column = spec.source_column(target_field).lower()
    if column not in record:
        if required:
            raise InvalidValue(f"column {column!r} is missing", f"column {column!r} is missing")
        return None
    return record[column]


def missing_columns(record: dict[str, Any], spec: SourceSpec) -> list[str]:
    """The source columns ``spec`` needs that ``record`` (a source's first row) lacks."""
    required, _ = FIELDS[spec.target]
    needed = [spec.source_column(name) for name in required]
    if spec.symbol[0] == "column" and spec.target in SYMBOL_TARGETS:
        needed.append(spec.symbol[1])
    if spec.target == "fact_balance" and spec.captured_at is None:
        needed.append(spec.source_column("snapshot_time"))
    return [column for column in needed if column.lower() not in record]


def symbol_of(record: dict[str, Any], spec: SourceSpec, file_stem: str) -> str:
    how, what = spec.symbol
    symbol = {"file_name": file_stem, "value": what}.get(how) or str(record.get(what.lower()) or "")
    symbol = symbol.strip().upper()
    symbol_selection.check(symbol, patterns=False)  # the package's one rule for a symbol name
    return symbol


def kline_array(record: dict[str, Any], spec: SourceSpec) -> list[Any]:
    """Binance's 12-element array for one candle record (times in ms, decimals as text)."""
    open_ms = moment_ms(field_of(record, spec, "open_time"), "open_time", spec.timezone)
    prices = [
        number(field_of(record, spec, name), name, spec.decimal) for name in ("open", "high", "low", "close", "volume")
    ]
    optional = {
        name: number(field_of(record, spec, name, required=False), name, spec.decimal)
        for name in ("quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume")
    }
    close = field_of(record, spec, "close_time", required=False)
    close_ms = moment_ms(close, "close_time", spec.timezone) if close not in (None, "") else None
    trades = optional["trades"]
    if trades is not None and not trades.isdigit():
        raise InvalidValue(f"trades {trades!r} is not a whole number", "trades is not a whole number")
    return [
        open_ms,
        *prices,
        close_ms,
        optional["quote_volume"],
        None if trades is None else int(trades),
        optional["taker_buy_base_volume"],
        optional["taker_buy_quote_volume"],
        "0",
    ]


def infer_interval(opens: list[int]) -> str:
    """The interval whose spacing most open times have (gaps and irregular steps aside)."""
    steps = Counter(b - a for a, b in pairwise(opens) if b > a)
    if not steps:
        raise InvalidValue("one candle cannot show its interval", "one candle cannot show its interval")
    step = steps.most_common(1)[0][0]
    by_step = {ms: name for name, ms in FIXED_MS.items()}
    if step in by_step:
        return by_step[step]
    if MONTH_MS[0] <= step <= MONTH_MS[1]:
        return "1M"
    problem = "is not the spacing of any Binance interval"
    raise InvalidValue(f"the candles' usual spacing {step} ms {problem}", f"the candles' usual spacing {problem}")


@dataclass
class Series:
    """One symbol's candles as a source claims them: valid rows, rejects, and what was dropped."""

    symbol: str
    interval: str
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # klines.COLUMNS, by open time
    rejects: list[tuple[Any, ...]] = field(default_factory=list)  # klines.REJECT_COLUMNS
    read: int = 0
    duplicates: int = 0
    invalid: dict[int, str] = field(default_factory=dict)  # open time -> why the source's own values are invalid
    last: list[Any] | None = None  # the newest candle array seen: the next chunk of the series continues from it


def kline_series(symbol: str, arrays: list[list[Any]], spec: SourceSpec, before: list[Any] | None = None) -> Series:
    """Validate one symbol's candle arrays with the API path's rules: the interval (stated, or inferred from the
    spacing and then checked: no candle opens less than one interval after the one before it; 3d grids restart
    after a long gap on Binance, so only the spacing is checked), duplicates (the same candle twice is kept
    once; two different candles at one open time are both rejected, with both values), a close time rounded up
    to the next candle's open is Binance's (one ms before it). When Binance is to confirm the candles, one whose
    own values are invalid (prices rounded to zero) is still a claim of a candle at that time: it is kept, its
    reason in ``invalid``, for Binance to correct; not served, it is rejected with that reason. A long series
    comes in chunks (in open-time order): ``before`` is the previous chunk's ``last``, checked against, not
    kept again."""
    opens = sorted({a[0] for a in arrays})
    try:
        interval = infer_interval(opens) if spec.interval == "infer" else spec.interval
    except ValueError as err:
        series = Series(symbol, spec.interval, read=len(arrays))
        series.rejects = [(symbol, "", a[0], f"{err}; state interval in the spec", repr(a)[:500]) for a in arrays]
        return series
    series = Series(symbol, interval, read=len(arrays))
    by_open: dict[int, list[Any]] = {} if before is None else {before[0]: before}
    clashing: set[int] = set()
    for array in arrays:
        open_ms = array[0]
        if array[6] is None or array[6] == next_open(open_ms, interval):
            array[6] = next_open(open_ms, interval) - 1
        if open_ms in by_open:
            if by_open[open_ms] == array:
                series.duplicates += 1
            else:
                clashing.add(open_ms)
                problem = f"two different candles at one open time: {by_open[open_ms][1:6]} and {array[1:6]}"
                series.rejects.append((symbol, interval, open_ms, problem, repr(array)[:500]))
            continue
        by_open[open_ms] = array
    previous = None
    for open_ms in sorted(by_open):
        if before is not None and open_ms == before[0]:
            previous = open_ms  # the previous chunk kept it
            continue
        if open_ms in clashing:
            problem = "two different candles at one open time (the other is rejected with its values)"
            series.rejects.append((symbol, interval, open_ms, problem, repr(by_open[open_ms])[:500]))
            continue
        if previous is not None and open_ms < next_open(previous, interval):
            problem = f"open time {sql_datetime(open_ms)} is less than one {interval} after the candle before it"
            series.rejects.append((symbol, interval, open_ms, problem, repr(by_open[open_ms])[:500]))
            continue
        previous = open_ms
        array = by_open[open_ms]
        try:
            series.rows.append(klines.parse_kline(array, symbol, interval, spec.provenance))
        except ValueError as err:
            if spec.verify != "binance" or not all(isinstance(array[i], int) for i in (0, 6)):
                series.rejects.append((symbol, interval, open_ms, str(err), repr(array)[:500]))
                continue
            series.rows.append(klines.kline_row(array, symbol, interval, spec.provenance))  # still a claim Binance
            series.invalid[open_ms] = str(err)  # can confirm: its prices may only be rounded to zero, say
    series.last = by_open[max(by_open)] if by_open else before
    return series


def balance_row(record: dict[str, Any], spec: SourceSpec) -> tuple[Any, ...] | None:
    """One fact_balance row (None for a zero balance, which the API path does not store either)."""
    stamp = field_of(record, spec, "snapshot_time", required=spec.captured_at is None)
    snapshot_ms = spec.captured_at if stamp in (None, "") else moment_ms(stamp, "snapshot_time", spec.timezone)
    balance = {
        "asset": str(field_of(record, spec, "asset") or "").strip(),
        "free": number(field_of(record, spec, "free"), "free", spec.decimal),
        "locked": number(field_of(record, spec, "locked"), "locked", spec.decimal),
    }
    account = spec.account or str(field_of(record, spec, "account", required=False) or "").strip() or DEFAULT_ACCOUNT
    rows = snapshots.balance_rows({"balances": [balance]}, snapshot_ms, spec.provenance, account)  # type: ignore[arg-type]
    return rows[0] if rows else None


TICKER_TIMES = ("openTime", "closeTime")


def ticker_row(record: dict[str, Any], spec: SourceSpec, symbol: str) -> tuple[Any, ...]:
    """One fact_ticker_24hr row, stamped with the ticker's close time (in UTC) as the API path stamps it."""
    required, _ = FIELDS["fact_ticker_24hr"]
    ticker: dict[str, Any] = {"symbol": symbol}
    for name in required:
        value = field_of(record, spec, name)
        in_time = name in TICKER_TIMES
        ticker[name] = moment_ms(value, name, spec.timezone) if in_time else number(value, name, spec.decimal)
    count = ticker["count"]
    if not str(count).isdigit():
        raise InvalidValue(f"count {count!r} is not a whole number", "count is not a whole number")
    return snapshots.ticker_rows([ticker], spec.provenance)[0]


def records_by_symbol(
    records: Iterable[dict[str, Any]], spec: SourceSpec, file_stem: str
) -> tuple[dict[str, list[list[Any]]], list[tuple[Any, ...]]]:
    """Candle arrays per symbol, and the records that could not be read as a candle (rejects)."""
    series: dict[str, list[list[Any]]] = {}
    rejects = []
    for record in records:
        try:
            symbol = symbol_of(record, spec, file_stem)
            series.setdefault(symbol, []).append(kline_array(record, spec))
        except ValueError as err:
            raw = repr(record)[:500]
            rejects.append((str(record.get(spec.symbol[1].lower(), file_stem))[:32], "", None, str(err)[:500], raw))
    return series, rejects
