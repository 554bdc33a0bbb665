"""Symbol names and patterns, resolved against exchangeInfo; batches bounded whatever the symbol count."""

from __future__ import annotations

import pytest

from include.run_window import normalise_symbols
from include.symbol_selection import batches, expand, label

LISTED = [
    {"symbol": "ETHUSDT", "status": "TRADING"},
    {"symbol": "BTCUSDT", "status": "TRADING"},
    {"symbol": "LUNAUSDT", "status": "BREAK"},
    {"symbol": "ETHBTC", "status": "TRADING"},
    {"symbol": "USDTTRY", "status": "TRADING"},
]


def test_a_pattern_is_every_trading_symbol_it_matches_in_name_order():
    assert expand(["*USDT"], LISTED) == ["BTCUSDT", "ETHUSDT"]  # not LUNAUSDT (BREAK), not USDTTRY
    assert expand(["ETH*"], LISTED) == ["ETHBTC", "ETHUSDT"]
    assert expand(["?THBTC"], LISTED) == ["ETHBTC"]


def test_names_stay_as_given_and_nothing_is_listed_twice():
    assert expand(["ETHBTC", "*USDT", "BTCUSDT"], LISTED) == ["ETHBTC", "BTCUSDT", "ETHUSDT"]
    assert expand(["XYZUSDT"], LISTED) == ["XYZUSDT"]  # unknown names fail later, naming them (exchangeInfo check)


def test_a_pattern_matching_nothing_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"'\*EUR' matches no TRADING symbol"):
        expand(["*EUR"], LISTED)


def test_patterns_are_accepted_only_where_they_are_resolved():
    assert normalise_symbols(["*usdt", "btcusdt"], patterns=True) == ["*USDT", "BTCUSDT"]
    with pytest.raises(ValueError, match=r"invalid symbol '\*USDT'"):
        normalise_symbols(["*USDT"])
    with pytest.raises(ValueError, match="such as \\*USDT"):
        normalise_symbols(["BTC-USDT"], patterns=True)


@pytest.mark.parametrize("count", [1, 5, 63, 64, 65, 1024, 1500, 2000])
def test_batches_keep_every_symbol_once_in_order_in_at_most_64_even_batches(count: int):
    symbols = [f"S{i:04d}USDT" for i in range(count)]
    out = batches(symbols, 64)
    assert len(out) == min(count, 64)
    assert [s for batch in out for s in batch] == symbols
    assert max(map(len, out)) - min(map(len, out)) <= 1


def test_a_batch_is_labelled_by_its_first_and_last_symbol():
    assert label(["BTCUSDT"]) == "BTCUSDT"
    assert label(["AAVEUSDT", "ACHUSDT", "ADAUSDT"]) == "AAVEUSDT … ADAUSDT (3)"


def test_batches_beyond_airflows_map_limit_are_refused():
    with pytest.raises(ValueError, match="1 to 1024"):
        batches(["BTCUSDT"], 1025)
