"""Transform rules on real Binance data from ../shared/data, without Airflow or a database."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.run_window import normalise_symbols, resolve
from include.transforms import dim_date, klines, snapshots
from include.transforms.staging import read_csv, write_csv

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NOW = 1_900_000_000_000


def real_klines() -> list[list]:
    """ETHUSDT 5m in Binance's archive layout, turned back into API arrays (ints and decimal strings)."""
    with (SHARED / "klines" / "normalized" / "ETHUSDT-5m-2026-01-02_2026-01-06.csv").open() as handle:
        return [[int(r[0]), *r[1:6], int(r[6]), r[7], int(r[8]), r[9], r[10], r[11]] for r in csv.reader(handle)]


def test_real_candles_pass_validation_unchanged():
    raw = real_klines()
    batch = klines.transform_klines(raw, "ETHUSDT", "5m", NOW)
    assert len(batch.rows) == len(raw) == 1016
    assert batch.rejects == []
    assert [r[8] for r in batch.rows] == [k[4] for k in raw]  # close kept as Binance's exact string
    assert batch.rows[0][2] == "2026-01-02 16:10:00.000"
    assert batch.rows[0][4] == 2026010216


def test_duplicates_are_collapsed_and_bad_rows_rejected_with_reasons():
    raw = real_klines()[:3]
    broken_high = [*raw[1][:2], "0.01", *raw[1][3:]]
    misaligned = [raw[2][0] + 60_000, *raw[2][1:]]
    batch = klines.transform_klines([raw[0], raw[0], broken_high, misaligned, raw[2], ["x"]], "ETHUSDT", "5m", NOW)
    assert [r[3] for r in batch.rows] == [raw[0][0], raw[2][0]]
    assert batch.duplicates == 1
    reasons = [r[3] for r in batch.rejects]
    assert any("high 0.01 is below" in r for r in reasons)
    assert any("not aligned to 5m" in r for r in reasons)
    assert any("12-element" in r for r in reasons)


def test_open_candle_is_rejected_not_stored():
    raw = real_klines()[-1]
    batch = klines.transform_klines([raw], "ETHUSDT", "5m", now_ms=raw[6])
    assert batch.rows == [] and batch.rejects[0][3] == "candle still open"


def test_microsecond_timestamps_are_normalised():
    raw = real_klines()[0]
    batch = klines.transform_klines([[raw[0] * 1000, *raw[1:6], raw[6] * 1000 + 999, *raw[7:]]], "ETHUSDT", "5m", NOW)
    assert batch.rows[0][3] == raw[0]


def test_real_ticker_and_exchange_info():
    tickers = json.loads((SHARED / "api" / "ticker_24hr.all-symbols.2020-09-29.json").read_text())
    rows = snapshots.ticker_rows(tickers[:50])
    assert len(rows) == 50 and rows[0][0] == tickers[0]["symbol"]
    assert rows[0][1] == klines.sql_datetime(tickers[0]["closeTime"])  # stamped with Binance's time of it
    info = json.loads((SHARED / "api" / "exchangeInfo.2020-11-09.subset.json").read_text())
    assert snapshots.symbol_rows(info, ["ETHBTC", "HSRBTC"]) == [
        ("ETHBTC", "ETH", "BTC", "TRADING"),
        ("HSRBTC", "HSR", "BTC", "BREAK"),
    ]
    with pytest.raises(ValueError, match=r"unknown symbol.*DOGEUSDT"):
        snapshots.symbol_rows(info, ["BTCUSDT", "DOGEUSDT"])


def test_dim_date_hours_cover_the_window():
    rows = dim_date.hours(1_735_689_600_000, 1_735_689_600_000 + 3 * 3_600_000)
    assert [r[0] for r in rows] == [2025010100, 2025010101, 2025010102]
    assert rows[0][3:] == (2025, 1, 1, 1, 0, "Wednesday")


def test_staging_csv_is_atomic_and_round_trips(tmp_path: Path):
    path = tmp_path / "x.csv"
    assert write_csv(path, ("a", "b"), [(1, None), (2, "z")]) == 2
    assert read_csv(path) == (["a", "b"], [["1", r"\N"], ["2", "z"]])
    with pytest.raises(ZeroDivisionError):
        write_csv(path, ("a",), ((1 / 0,) for _ in range(1)))
    assert read_csv(path)[1] == [["1", r"\N"], ["2", "z"]]
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_run_window_rules():
    params = {"symbols": ["btcusdt", "BTCUSDT", "ethusdt"], "interval": "1h"}
    logical = datetime(2024, 5, 2, 13, tzinfo=UTC)
    window = resolve(params, logical, logical, logical)
    assert window.symbols == ["BTCUSDT", "ETHUSDT"]
    assert (window.start_ms, window.end_ms) == (1714521600000, 1714608000000)  # the UTC day before
    with pytest.raises(ValueError, match="not before end"):
        resolve({**params, "start": "2024-05-03", "end": "2024-05-01"}, None, None, logical)
    with pytest.raises(ValueError, match="'1Y'"):
        resolve({**params, "interval": "1Y"}, None, None, logical)
    with pytest.raises(ValueError, match="BTC-USD"):
        normalise_symbols(["BTC-USD"])


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (4, "2000.123456789", "close 2000.123456789 has more than 8 decimal places"),
        (5, "0.000000001", "volume 0.000000001 has more than 8 decimal places"),
        (7, "1e-9", "quote volume 1e-9 has more than 8 decimal places"),
        (2, "1" + "0" * 28, "high 1" + "0" * 28 + " has more than 28 digits before the decimal point"),
    ],
)
def test_a_value_the_warehouse_cannot_hold_exactly_rejects_only_its_row(field: int, value: str, reason: str):
    raw = real_klines()[:3]
    raw[1][field] = value
    if field == 2:  # keep the candle otherwise valid: the high is the highest value
        raw[1][4] = raw[1][1] = raw[1][3]
    batch = klines.transform_klines(raw, "ETHUSDT", "5m", NOW)
    assert [r[3] for r in batch.rows] == [raw[0][0], raw[2][0]]
    assert [r[3] for r in batch.rejects] == [reason + " (the warehouse stores DECIMAL(36,8))"]


def test_trailing_zeros_beyond_eight_places_are_exact_and_kept():
    raw = real_klines()[:1]
    raw[0][5] = raw[0][5] + "0000"
    batch = klines.transform_klines(raw, "ETHUSDT", "5m", NOW)
    assert batch.rejects == [] and len(batch.rows) == 1


def test_a_time_no_datetime_can_hold_rejects_its_row_instead_of_failing_the_chunk():
    good = real_klines()[0]
    beyond = [good[0], *good[1:6], 10**30, *good[7:]]
    batch = klines.transform_klines([good, beyond], "ETHUSDT", "5m", NOW)
    assert len(batch.rows) == 1
    assert batch.rejects[0][3] == f"close time {10**30} is not between 1970 and 9999"


def test_a_balances_file_may_name_each_rows_account_and_a_bad_name_rejects_it():
    from include.transforms.file_sources import FileRejected, parse

    data = (
        b"asset,free,locked,snapshot_time,account\n"
        b"BTC,1,0,2024-03-01T00:00:00,company_b\nBTC,2,0,2024-03-01T00:00:00,\n"
    )
    assert parse("b.csv", data, 0).rows == [
        ("company_b", "BTC", "2024-03-01 00:00:00.000", "1", "0", "file:b.csv"),
        ("binance_default", "BTC", "2024-03-01 00:00:00.000", "2", "0", "file:b.csv"),
    ]
    with pytest.raises(FileRejected, match="row 2: account is not an account name"):
        parse("b.csv", data.replace(b"company_b", b"x' OR 1=1 --"), 0)
