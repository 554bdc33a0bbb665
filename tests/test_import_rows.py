"""Import sources read as their specs say: the Talend project's real raw klines, decimal commas, local times,
single-precision floats; the checks that confirm or correct a legacy candle with Binance's (pure, no Airflow)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from include.imports.confirm import confirm, trusted
from include.imports.rows import KLINE_ARRAY, kline_array, kline_series, ticker_row
from include.imports.spec import SpecError, resolve, source_spec
from include.transforms.values import moment_ms, number
from tests.conftest import ROOT

SEED = ROOT.parent / "shared" / "data" / "seed" / "jsonfiles_klines"
JSON_SPEC = source_spec(
    {
        "name": "talend_klines_json",
        "kind": "files",
        "files": "*.json",
        "format": "kline_arrays",
        "target": "fact_kline",
        "symbol": "file_name",
    }
)


def seed_series(symbol: str) -> list[list]:
    records = [dict(zip(KLINE_ARRAY, a, strict=False)) for a in json.loads((SEED / f"{symbol}.json").read_text())]
    return [kline_array(record, JSON_SPEC) for record in records]


def test_the_talend_projects_real_raw_klines_read_as_3d_series_and_the_open_last_candle_is_dropped():
    series = {
        symbol: kline_series(symbol, seed_series(symbol), JSON_SPEC) for symbol in ("LTCUSDT", "ADAUSDC", "HSRBTC")
    }
    assert {s.interval for s in series.values()} == {"3d"}
    assert [len(s.rows) for s in series.values()] == [739, 431, 103]  # the gap and the irregular steps are kept
    assert not any(s.rejects for s in series.values())
    newest_open = max(s.rows[-1][3] for s in series.values())  # the files were written after it opened
    kept = {symbol: trusted(s, newest_open) for symbol, s in series.items()}
    assert kept["LTCUSDT"].open_dropped == 1 and len(kept["LTCUSDT"].rows) == 738
    assert kept["HSRBTC"].open_dropped == 0  # delisted: its last candle closed early, years before
    assert kept["LTCUSDT"].rows[0][:3] == ("LTCUSDT", "3d", "2017-12-13 00:00:00.000")
    assert kept["LTCUSDT"].rows[0][-1] == "file:talend_klines_json"


def test_numbers_are_read_as_the_source_meant_them():
    assert number("2376,348404", "volume", ",") == "2376.348404"
    assert number("4910445,8", "free", ",") == "4910445.8"
    assert number(4485.0, "high") == "4485"  # FLOAT(40,0)
    assert number(float(np.float32(4261.48)), "open") == "4261.48"  # a MySQL FLOAT: single precision
    assert number(0.0, "low") == "0"
    with pytest.raises(ValueError, match=r"volume .* is not a number"):
        number("12;5", "volume", ",")


def test_naive_local_times_are_converted_to_utc():
    winter = moment_ms("2024-01-05 22:12:09.412", "openTime", "Europe/Paris")
    assert datetime.fromtimestamp(winter / 1000, UTC).isoformat() == "2024-01-05T21:12:09.412000+00:00"
    summer = moment_ms(datetime(2023, 7, 1, 2, 0), "closeTime", "Europe/Paris")
    assert datetime.fromtimestamp(summer / 1000, UTC).hour == 0
    assert moment_ms(1503187199999, "close_time", "Europe/Paris") == 1503187199999  # epoch ms carry no zone


def test_a_ticker_row_in_the_talend_csv_layout_is_binances_with_utc_times():
    spec = source_spec(
        {
            "name": "t",
            "kind": "files",
            "files": "x.csv",
            "target": "fact_ticker_24hr",
            "decimal": ",",
            "timezone": "Europe/Paris",
        }
    )
    fields = ["priceChange", "priceChangePercent", "lastPrice", "openPrice", "highPrice", "lowPrice", "volume"]
    record = {name.lower(): "1,5" for name in fields} | {
        "quotevolume": "12,25",
        "opentime": "2024-01-04 22:12:09.412",
        "closetime": "2024-01-05 22:12:09.412",
        "count": "42",
    }
    row = ticker_row(record, spec, "BTCUSDT")
    assert row[:4] == ("BTCUSDT", "2024-01-05 21:12:09.412", "1.5", "1.5")
    assert row[-1] == "file:t"


def test_a_legacy_candle_is_confirmed_corrected_or_dropped_against_binances():
    truth = [
        [0, "4261.48", "4485.39", "3850.00", "4086.29", "795.15", 259199999, "3454770", 3427, "616.24", "2678216", "0"],
        [259200000, "4086.29", "4100.5", "4000.1", "4050.2", "10", 518399999, "40500", 10, "5", "20250", "0"],
        [518400000, "4050.2", "4060", "4000", "4010", "50", 777599999, "200000", 40, "20", "80000", "0"],
    ]
    claims = [list(truth[0]), [*truth[1][:2], "4101", "4000", "4050", *truth[1][5:]], list(truth[2])]
    claims[2][5] = "7"  # the last candle as it was while still open
    claims.append([777600000, "4010", "4010", "4010", "4010", "1", 1036799999, "4010", 1, "0", "0", "0"])
    spec = JSON_SPEC
    series = kline_series("BTCUSDT", claims, spec)
    result = confirm(series, truth, exported_ms=600_000_000, now_ms=2_000_000_000_000, keep_not_served=True)
    assert result.counts() == {
        "equal": 1,
        "corrected": 1,
        "corrected_fields": {"close": 1, "high": 1, "low": 1},
        "not_served": 1,
        "open_dropped": 1,
    }
    assert [row[-1] for row in result.rows] == ["binance_api"] * 3 + ["file:talend_klines_json"]
    assert result.rows[1][6] == "4100.5"  # Binance's exact high is what is stored
    rejected = confirm(series, truth, 600_000_000, 2_000_000_000_000, keep_not_served=False)
    assert len(rejected.rows) == 3 and "Binance serves no candle" in rejected.rejects[0][3]


def test_two_different_candles_at_one_open_time_are_both_rejected_and_a_repeat_is_kept_once():
    first = [0, "1", "2", "1", "2", "5", 259199999, None, None, None, None, "0"]
    series = kline_series(
        "BTCUSDT",
        [first, list(first), [*first[:4], "1.5", *first[5:]]],
        source_spec({"name": "s", "kind": "files", "files": "x", "target": "fact_kline", "interval": "3d"}),
    )
    assert series.duplicates == 1 and not series.rows and len(series.rejects) == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "x", "kind": "files", "target": "fact_kline"}, "kind files needs files"),
        ({"name": "x", "kind": "table", "table": "t", "target": "fact_kline"}, "no connection"),
        ({"name": "x", "kind": "files", "files": "a", "target": "fact_kline", "encoding": "klingon"}, "encoding"),
        ({"name": "x", "kind": "files", "files": "a", "target": "fact_kline", "timezone": "Mars/Olympus"}, "IANA"),
        ({"name": "x", "kind": "files", "files": "a", "target": "fact_kline", "columns": {"hi": "h"}}, "hi"),
        ({"name": "x", "kind": "files", "files": "a", "target": "fact_kline", "colour": 1}, "unknown keys colour"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_key(raw: dict, message: str):
    with pytest.raises(SpecError, match=message):
        source_spec(raw)


def test_a_group_resolves_to_its_sources_and_an_unknown_name_lists_the_known():
    presets = {"a": {"kind": "files", "files": "a", "target": "fact_kline"}}
    assert [s.name for s in resolve(["g", "a"], presets, {"g": ["a"]}, {})] == ["a"]
    with pytest.raises(SpecError, match=r"no source named 'b' .*a, g"):
        resolve(["b"], presets, {"g": ["a"]}, {})


def test_the_shipped_presets_are_valid_specs():
    import yaml

    shipped = yaml.safe_load((ROOT / "include" / "imports" / "presets.yaml").read_text())
    specs = resolve(
        list(shipped["groups"]),
        shipped["sources"],
        shipped["groups"],
        {"connection": "talend", "captured_at": "2024-01-05T23:00:00+01:00"},
    )
    assert {s.target for s in specs} == {"fact_kline", "fact_balance", "fact_ticker_24hr"}
    assert Path(ROOT / "include" / "imports" / "presets.yaml").exists()
