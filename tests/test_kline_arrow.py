"""The vectorised kline transform equals the row-by-row one: rows, rejects with their reasons, duplicates,
on real Binance samples (../shared/data) and on generated candles, from REST pages and archive CSVs alike."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from include.intervals import FIXED_MS
from include.transforms import archive, kline_arrow, klines
from include.transforms.staging import write_csv
from tests.test_properties import BREAKS, T0, candle

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NOW = T0 + 10**12
HOUR_MS = FIXED_MS["1h"]


def staged(batch: klines.KlineBatch | kline_arrow.KlineTable) -> bytes:
    """The staging CSV a transform's rows become."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        if isinstance(batch, klines.KlineBatch):
            write_csv(path, klines.COLUMNS, batch.rows)
        else:
            kline_arrow.write_csv(path, batch.table)
        return path.read_bytes()


def assert_same(reference: klines.KlineBatch, fast: kline_arrow.KlineTable) -> None:
    assert staged(fast) == staged(reference)
    assert fast.rejects == reference.rejects
    assert fast.duplicates == reference.duplicates


def from_rows(rows: list[Any], interval: str = "1h", now: int = NOW) -> None:
    """Both transforms over the same REST-typed rows."""
    reference = klines.transform_klines([list(r) if isinstance(r, list) else r for r in rows], "BTCUSDT", interval, now)
    assert_same(reference, kline_arrow.transform_klines(rows, "BTCUSDT", interval, now))


def from_archive_csv(text: bytes, interval: str, now: int = NOW) -> klines.KlineBatch:
    """Both transforms over one archive CSV: the row-by-row one over its rows as the archive reader types them."""
    reference = klines.transform_klines(archive.csv_rows(text), "BTCUSDT", interval, now)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "2024-01.csv"
        path.write_bytes(text)
        assert_same(reference, kline_arrow.transform_file(path, "BTCUSDT", interval, now))
    return reference


def csv_text(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue().encode("ascii", "replace")


@pytest.mark.parametrize(
    ("sample", "interval"),
    [("ETHUSDT-5m-2026-01-02_2026-01-06.csv", "5m"), ("ADAUSDT-1h-2023-11-01_2023-12-30.ohlcv-only.csv", "1h")],
)
def test_real_archive_csvs_give_the_same_rows(sample: str, interval: str):
    text = (SHARED / "klines" / "normalized" / sample).read_bytes()
    reference = from_archive_csv(text, interval, now=1_900_000_000_000)
    assert len(reference.rows) + len(reference.rejects) > 1000


def test_real_rest_pages_give_the_same_rows():
    rows = json.loads((SHARED / "api" / "klines.1m.limit500.2024-11-16.json").read_text())
    from_rows(rows, "1m", now=1_900_000_000_000)
    from_rows(rows + rows[:10], "1m", now=rows[250][6])  # duplicates; half still open


def test_microsecond_archives_and_a_header_row_give_the_same_rows():
    rows = [
        [
            T0 * 1000 + i * HOUR_MS * 1000,
            "1.0",
            "2.0",
            "0.5",
            "1.5",
            "10",
            (T0 + (i + 1) * HOUR_MS) * 1000 - 1,
            "15",
            3,
            "5",
            "7.5",
            "0",
        ]
        for i in range(5)
    ]
    header = [
        [
            "open_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "close_time",
            "quote_volume",
            "count",
            "taker_buy_volume",
            "taker_buy_quote_volume",
            "ignore",
        ]
    ]
    reference = from_archive_csv(csv_text(header + rows), "1h")
    assert [r[3] for r in reference.rows] == [T0 + i * HOUR_MS for i in range(5)]


ODD_VALUES = {
    "ninth decimal": lambda k: k.__setitem__(4, k[4] + "1"),
    "exponent": lambda k: k.__setitem__(5, "1e-8"),
    "sign": lambda k: k.__setitem__(1, "+" + k[1]),
    "whitespace": lambda k: k.__setitem__(3, " " + k[3]),
    "integer price": lambda k: k.__setitem__(2, 10**9),
    "null quote volume": lambda k: k.__setitem__(7, None),
    "null trades": lambda k: k.__setitem__(8, None),
    "negative trades": lambda k: k.__setitem__(8, -1),
    "boolean time": lambda k: k.__setitem__(0, True),
    "float price": lambda k: k.__setitem__(4, 1.5),
    "huge time": lambda k: k.__setitem__(6, 10**30),
    "microseconds": lambda k: (k.__setitem__(0, k[0] * 1000), k.__setitem__(6, k[6] * 1000 + 999)),
    "still open": lambda k: k.__setitem__(6, NOW),
    "29 integer digits": lambda k: k.__setitem__(5, "1" * 29),
    "zero price": lambda k: (k.__setitem__(3, "0"), k.__setitem__(1, "0.00000000")),
    "not a list": lambda k: k.clear(),
    **BREAKS,
}


@st.composite
def candles(draw: st.DrawFn) -> list[Any]:
    """Valid candles, some repeated, some with an odd or broken value."""
    rows = draw(st.lists(candle(), min_size=1, max_size=30))
    rows += draw(st.lists(st.sampled_from(rows), max_size=5))  # duplicates: the last one wins
    odd = draw(st.dictionaries(st.integers(0, len(rows) - 1), st.sampled_from(sorted(ODD_VALUES)), max_size=6))
    for index, kind in odd.items():  # one oddity per row
        rows[index] = list(rows[index])
        ODD_VALUES[kind](rows[index])
    return [row if row else "not a kline" for row in rows]


@settings(max_examples=300, deadline=None)
@given(candles())
def test_generated_rest_rows_give_the_same_rows_rejects_and_reasons(rows: list[Any]):
    from_rows(rows)


CSV_ODDITIES = [
    "ninth decimal",
    "exponent",
    "sign",
    "whitespace",
    "negative trades",
    "microseconds",
    "still open",
    "29 integer digits",
    "zero price",
    "huge time",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(candle(), min_size=1, max_size=30), st.lists(st.sampled_from(CSV_ODDITIES), max_size=4))
def test_generated_archive_csvs_give_the_same_rows_rejects_and_reasons(rows: list[list[Any]], odd: list[str]):
    rows = [list(r) for r in rows]
    for row, kind in zip(rows, odd, strict=False):  # one oddity per row
        ODD_VALUES[kind](row)
    from_archive_csv(csv_text(rows), "1h")


@pytest.mark.parametrize("interval", ["1s", "1m", "3d", "1w", "1M"])
def test_every_kind_of_grid_gives_the_same_rows(interval: str):
    from include.intervals import next_open

    opens = [1_704_067_200_000]  # 2024-01-01, a Monday
    for _ in range(40):
        opens.append(next_open(opens[-1], interval))
    rows = [[t, "1.0", "2.0", "0.5", "1.5", "10", next_open(t, interval) - 1, "15", 3, "5", "7.5", "0"] for t in opens]
    rows[5][0] += 1000  # off the grid (on every grid but 3d's, which Binance anchors per symbol)
    from_rows(rows, interval, now=opens[-3])
