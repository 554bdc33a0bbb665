"""Klines at vectorised speed: exactly the rows, rejects and reasons of ``klines.transform_klines``.

The plainly valid rows (the expected types, decimals of at most 20 integer and 8 significant decimal
digits, positive prices bracketed by high and low, an aligned and closed candle) are checked and
formatted as Arrow columns, prices compared as decimal128(36, 8), never as floats. Every other row goes
through the row-by-row transform, so each reject keeps its exact reason; duplicates (same open time) are
resolved last-wins across both, in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from include.intervals import FIXED_MS, is_aligned
from include.transforms import archive
from include.transforms.klines import API_SOURCE, COLUMNS, MAX_MS, row_or_reject
from include.transforms.raw_files import read_rows
from include.transforms.staging import NULL, replacing

# Up to 20 integer digits and 8 decimals (zeros beyond them allowed): at most 36 digits, which decimal128
# parses exactly. Anything else (exponents, signs, 29 digits, a ninth decimal) is judged row by row.
PLAIN_DECIMAL = r"^[0-9]{1,20}(\.[0-9]{1,8}0{0,8})?$"
INTEGER = r"^[0-9]{1,18}$"  # a time or trade count that fits int64
PRICE = pa.decimal128(36, 8)
MICROSECONDS = 10**14
DECIMALS = (1, 2, 3, 4, 5)  # open, high, low, close, volume
OPTIONAL_DECIMALS = (7, 9, 10)  # quote volume, taker base and taker quote volume: may be null
SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("interval", pa.string()),
        ("open_time", pa.string()),
        ("open_time_ms", pa.int64()),
        ("date_key", pa.int64()),
        *((name, pa.string()) for name in ("open", "high", "low", "close", "volume")),
        ("close_time", pa.string()),
        ("quote_volume", pa.string()),
        ("trades", pa.int64()),
        ("taker_buy_base_volume", pa.string()),
        ("taker_buy_quote_volume", pa.string()),
        ("source", pa.string()),
    ]
)
assert tuple(SCHEMA.names) == COLUMNS


@dataclass
class KlineTable:
    """Valid rows (``COLUMNS``, sorted by open time) and rejects (``REJECT_COLUMNS``) of one symbol."""

    table: pa.Table
    rejects: list[tuple[Any, ...]]
    duplicates: int = 0


def transform_klines(
    raw_rows: Sequence[Any], symbol: str, interval: str, now_ms: int, source: str = API_SOURCE
) -> KlineTable:
    """``klines.transform_klines`` over Arrow columns: the same rows, rejects and duplicates count."""
    shaped = np.fromiter((type(r) is list and len(r) >= 11 for r in raw_rows), dtype=bool, count=len(raw_rows))
    regular, others = np.flatnonzero(shaped), np.flatnonzero(~shaped).tolist()
    arrays = _typed_columns([raw_rows[i] for i in regular]) if len(regular) else None
    if arrays is None:  # an odd type somewhere: judge each row on its own
        regular, others = regular[:0], list(range(len(raw_rows)))
    return _transform(arrays, regular, others, raw_rows.__getitem__, len(raw_rows), symbol, interval, now_ms, source)


def transform_file(path: Path, symbol: str, interval: str, now_ms: int) -> KlineTable:
    """``transform_klines`` of one raw chunk file; an archive CSV is read straight into Arrow columns."""
    table = _read_archive_csv(path) if path.suffix == ".csv" else None
    if table is None:
        return transform_klines(read_rows(path), symbol, interval, now_ms)
    digits = [pc.match_substring_regex(table.column(i), INTEGER) for i in (0, 6, 8)]
    mask = pc.and_(pc.and_(digits[0], digits[1]), digits[2]).to_numpy(zero_copy_only=False)
    positions = np.arange(table.num_rows)
    regular = positions[mask]

    def raw_at(i: int) -> list[Any] | None:
        return archive.typed_row([table.column(j)[int(i)].as_py() for j in range(table.num_columns)])

    others = [i for i in positions[~mask].tolist() if raw_at(i) is not None]  # header and blank lines dropped
    kept = table.filter(pa.array(mask))
    arrays = [kept.column(i).combine_chunks() for i in range(11)]
    arrays = [pc.cast(a, pa.int64()) if i in (0, 6, 8) else a for i, a in enumerate(arrays)]
    return _transform(arrays, regular, others, raw_at, len(regular) + len(others), symbol, interval, now_ms, API_SOURCE)


def _read_archive_csv(path: Path) -> pa.Table | None:
    """An archive CSV as 12 text columns, exactly as written; None when its lines are not all 12 fields."""
    names = [f"field_{i}" for i in range(12)]
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    try:
        return pa_csv.read_csv(path, pa_csv.ReadOptions(column_names=names), convert_options=convert)
    except pa.ArrowInvalid:
        return None


def _transform(
    arrays: list[pa.Array] | None,
    regular: np.ndarray,
    others: list[int],
    raw_at: Callable[[int], Any],
    seen: int,
    symbol: str,
    interval: str,
    now_ms: int,
    source: str,
) -> KlineTable:
    """Rows at ``regular`` positions (typed ``arrays``) checked together; the rest, and every row that is not
    plainly valid, one by one (``raw_at`` gives the raw row at a position)."""
    fast, fast_at, not_plain = _check_plain(arrays, regular, interval, now_ms) if arrays else ([], regular[:0], [])
    slow_rows, slow_rows_at, rejects = [], [], []
    for i in sorted([*others, *not_plain]):
        row, reject = row_or_reject(raw_at(i), symbol, interval, now_ms, source)
        if row is None:
            rejects.append(reject)
        else:
            slow_rows.append(row)
            slow_rows_at.append(i)
    table = pa.concat_tables([_format(fast, symbol, interval, source), _from_rows(slow_rows)])
    at = np.concatenate([fast_at, np.asarray(slow_rows_at, dtype=np.int64)])
    table = _last_per_open_time(table, at)
    return KlineTable(table, rejects, duplicates=seen - len(rejects) - table.num_rows)


def _typed_columns(rows: list[list[Any]]) -> list[pa.Array] | None:
    """The 11 fields as Arrow arrays of the expected types, or None when any value has another type."""
    fields = list(zip(*rows, strict=False))[:11]
    try:
        arrays = [pa.array(column) for column in fields]
    except (pa.ArrowException, OverflowError, TypeError):
        return None
    for i, array in enumerate(arrays):
        expected = pa.int64() if i in (0, 6, 8) else pa.string()
        if array.type == pa.null() and i in (7, 8, 9, 10):
            arrays[i] = pa.nulls(len(array), expected)
        elif array.type != expected:
            return None
    return arrays


def _check_plain(
    arrays: list[pa.Array], regular: np.ndarray, interval: str, now_ms: int
) -> tuple[list[pa.Array], np.ndarray, list[int]]:
    """The plainly valid rows among ``regular`` as columns, their positions, and the positions of the rest."""
    opens, closes = (_milliseconds(arrays[i]) for i in (0, 6))
    ok = pc.and_(pc.and_(pc.greater_equal(opens, 0), pc.less_equal(closes, MAX_MS)), pc.less(closes, now_ms))
    ok = pc.and_(ok, pc.greater_equal(closes, opens))
    for i in DECIMALS:
        ok = pc.and_(ok, pc.match_substring_regex(arrays[i], PLAIN_DECIMAL))
    for i in OPTIONAL_DECIMALS:
        ok = pc.and_(ok, pc.or_(pc.is_null(arrays[i]), pc.match_substring_regex(arrays[i], PLAIN_DECIMAL)))
    ok = pc.and_(ok, pc.or_(pc.is_null(arrays[8]), pc.greater_equal(arrays[8], 0)))
    ok = pc.and_(ok, _aligned(opens, interval))
    ok = pc.fill_null(ok, False)
    o, h, low, c = (pc.cast(pc.if_else(ok, arrays[i], "1"), PRICE) for i in (1, 2, 3, 4))
    zero = pa.scalar(0, PRICE)
    ok = pc.and_(ok, pc.greater(low, zero))  # low is the smallest price once the brackets below hold
    for bracket in (
        pc.greater_equal(h, o),
        pc.greater_equal(h, c),
        pc.greater_equal(h, low),
        pc.less_equal(low, o),
        pc.less_equal(low, c),
    ):
        ok = pc.and_(ok, bracket)
    mask = ok.to_numpy(zero_copy_only=False)
    fast = [pc.filter(a, ok) for a in (opens, *arrays[1:6], closes, *arrays[7:11])]
    return fast, regular[mask], regular[~mask].tolist()


def _milliseconds(times: pa.Array) -> pa.Array:
    """Microsecond timestamps (16 digits, archives of 2025 on) as milliseconds."""
    return pc.if_else(pc.greater_equal(times, MICROSECONDS), pc.divide(times, 1000), times)


def _aligned(opens: pa.Array, interval: str) -> pa.Array:
    if interval == "3d":  # 3d grids are per symbol on Binance: not checked (as row by row)
        return pa.array(np.ones(len(opens), dtype=bool))
    if interval == "1M":  # a few rows per chunk
        return pa.array([is_aligned(ms, "1M") for ms in opens.to_pylist()], pa.bool_())
    step = FIXED_MS[interval]
    origin = 4 * 86_400_000 if interval == "1w" else 0
    shifted = pc.subtract(opens, origin).to_numpy()
    return pa.array(shifted % step == 0)


def _format(fast: list[pa.Array], symbol: str, interval: str, source: str) -> pa.Table:
    """The plain rows in ``COLUMNS`` order, formatted as the row-by-row transform formats them."""
    if not fast:
        return SCHEMA.empty_table()
    opens, o, h, low, c, v, closes, qv, trades, tb, tq = fast
    count = len(opens)
    open_times, close_times = (pc.cast(ms, pa.timestamp("ms")) for ms in (opens, closes))
    date_key = pc.add(
        pc.multiply(pc.year(open_times), 1_000_000),
        pc.add(
            pc.multiply(pc.month(open_times), 10_000), pc.add(pc.multiply(pc.day(open_times), 100), pc.hour(open_times))
        ),
    )

    def constant(value: str) -> pa.Array:
        return pa.repeat(pa.scalar(value, pa.string()), count)

    columns = [
        constant(symbol),
        constant(interval),
        pc.cast(open_times, pa.string()),
        opens,
        pc.cast(date_key, pa.int64()),
        o,
        h,
        low,
        c,
        v,
        pc.cast(close_times, pa.string()),
        qv,
        trades,
        tb,
        tq,
        constant(source),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def _from_rows(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows of the row-by-row transform as a table (values written as the CSV writer writes them)."""
    if not rows:
        return SCHEMA.empty_table()
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(values, field.type)
        if pa.types.is_integer(field.type)
        else pa.array([None if v is None else str(v) for v in values], pa.string())
        for field, values in zip(SCHEMA, columns, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _last_per_open_time(table: pa.Table, at: np.ndarray) -> pa.Table:
    """One row per open time, the one that came last in the input, sorted by open time."""
    opens = table.column("open_time_ms").to_numpy()
    if np.all(opens[1:] > opens[:-1]):  # sorted and unique already (the usual case): nothing to move
        return table
    order = np.lexsort((-at, opens))  # by open time, the latest input first
    first = np.ones(len(order), dtype=bool)
    first[1:] = opens[order][1:] != opens[order][:-1]
    return table.take(order[first])


def write_csv(path: Path, table: pa.Table) -> int:
    """``table`` as a staging CSV (header, ``\\N`` for NULL, as ``staging.write_csv``), atomically."""
    options = pa_csv.WriteOptions(quoting_style="none", quoting_header="none", null_string=NULL)
    with replacing(path) as tmp:
        pa_csv.write_csv(table, str(tmp), options)
    return table.num_rows
