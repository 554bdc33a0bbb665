"""The simulator keeps Binance's contract: exact aggregation, paging rules, limits, signed-request checks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from include.binance_sim.__main__ import parse_symbols
from include.binance_sim.archives import ArchiveStore
from include.binance_sim.market import Market, Outage
from include.binance_sim.server import SimServer
from include.intervals import HOUR_MS
from include.transforms.archive import csv_member, csv_rows

DAY0 = 1714521600000  # 2024-05-01 00:00 UTC


@pytest.fixture
def small_server() -> Iterator[SimServer]:
    """An in-thread simulator with a tiny weight limit, to reach 429 and 418 quickly."""
    frozen = DAY0 + 30_000  # a fixed clock keeps every request in one weight window
    server = SimServer(Market(parse_symbols("BTCUSDT", "2024-01-01"), clock=lambda: frozen), weight_limit=10)
    server.limiter.ban_after = 2
    server.serve_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def get(base: str, path: str) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def test_coarse_candles_are_exact_aggregates_of_minutes():
    market = Market(parse_symbols("ETHUSDT", "2024-01-01"))
    hour = market.klines("ETHUSDT", "1h", DAY0, DAY0, 1)
    minutes = market.klines("ETHUSDT", "1m", DAY0, DAY0 + HOUR_MS - 1, 1000)
    assert len(minutes["open_time"]) == 60
    assert hour["open"][0] == minutes["open"][0] and hour["close"][0] == minutes["close"][-1]
    assert hour["high"][0] == minutes["high"].max() and hour["low"][0] == minutes["low"].min()
    for field in ("volume", "quote_volume", "trades", "taker_base", "taker_quote"):
        assert hour[field][0] == minutes[field].sum()
    assert hour["close_time"][0] == DAY0 + HOUR_MS - 1
    day = market.klines("ETHUSDT", "1d", DAY0, DAY0, 1)
    hours = market.klines("ETHUSDT", "1h", DAY0, DAY0 + 24 * HOUR_MS - 1, 1000)
    assert day["volume"][0] == hours["volume"].sum() and day["high"][0] == hours["high"].max()
    month = market.klines("ETHUSDT", "1M", DAY0, DAY0, 1)
    days = market.klines("ETHUSDT", "1d", DAY0, DAY0 + 31 * 24 * HOUR_MS - 1, 1000)
    assert len(days["open_time"]) == 31 and month["trades"][0] == days["trades"].sum()


def test_one_second_candles_are_an_exact_split_of_each_minute():
    market = Market(parse_symbols("ETHUSDT", "2024-01-01"))
    minute = market.klines("ETHUSDT", "1m", DAY0, DAY0, 1)
    seconds = market.klines("ETHUSDT", "1s", DAY0, DAY0 + 59_999, 1000)
    assert list(seconds["open_time"]) == [DAY0 + 1000 * i for i in range(60)]
    assert list(seconds["close_time"]) == [DAY0 + 1000 * i + 999 for i in range(60)]
    assert seconds["open"][0] == minute["open"][0] and seconds["close"][-1] == minute["close"][0]
    assert seconds["high"].max() == minute["high"][0] and seconds["low"].min() == minute["low"][0]
    assert all(seconds["low"] <= np.minimum(seconds["open"], seconds["close"]))
    assert all(seconds["high"] >= np.maximum(seconds["open"], seconds["close"]))
    for field in ("volume", "quote_volume", "trades", "taker_base", "taker_quote"):
        assert seconds[field].sum() == minute[field][0]


def test_three_day_candles_open_on_each_symbols_own_grid_from_its_listing_day():
    """Binance's 3d grid is per symbol (shared/data: LTCUSDT's is a day off BTCUSDT's)."""
    market = Market(parse_symbols("AAAUSDT@2024-01-01,BBBUSDT@2024-01-02", "2024-01-01"))
    day = 86_400_000
    for symbol, listed in (("AAAUSDT", 1704067200000), ("BBBUSDT", 1704067200000 + day)):
        opens = market.klines(symbol, "3d", listed, listed + 30 * day, 1000)["open_time"]
        assert list(opens) == [listed + 3 * day * i for i in range(len(opens))] and len(opens) >= 10


def test_an_outage_leaves_the_same_hole_at_every_interval_and_in_the_archives():
    """Minutes 11:35-17:29 missing, as on BTCUSDT 2020-02-19: 1h candles 12:00-16:00 are absent, the 11:00
    candle closes early at 11:34:59.999, the 17:00 one opens on time with the first minute after it."""
    start, end = 1582112100000, 1582133400000  # 2020-02-19T11:35, 2020-02-19T17:30
    market = Market(parse_symbols("BTCUSDT@2019-06-03", "2019-06-03"), outages=[Outage("BTCUSDT", start, end)])
    day = 1582070400000  # 2020-02-19
    hours = market.klines("BTCUSDT", "1h", day, day + 86_399_999, 1000)
    opens = [int(o) for o in hours["open_time"]]
    assert opens == [day + HOUR_MS * h for h in (*range(12), *range(17, 24))]
    assert hours["close_time"][11] == start - 1
    assert hours["close_time"][10] == day + 11 * HOUR_MS - 1
    minutes = market.klines("BTCUSDT", "1m", day + 17 * HOUR_MS, day + 18 * HOUR_MS - 1, 1000)
    assert minutes["open_time"][0] == end and hours["open"][12] == minutes["open"][0]
    assert market.klines("BTCUSDT", "1m", start, end - 1, 1000)["open_time"].size == 0
    page = market.klines("BTCUSDT", "1m", start - 5 * 60_000, None, 10)  # limit counts existing candles
    assert [int(o) for o in page["open_time"]] == [start - 60_000 * k for k in range(5, 0, -1)] + [
        end + 60_000 * k for k in range(5)
    ]
    store = ArchiveStore(market)
    body, _ = store.get("/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2020-02-19.zip")
    assert [row[0] for row in csv_rows(csv_member(body, "x.zip"))] == opens


def test_paging_rules(sim_url: str):
    status, headers, rows = get(sim_url, f"/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime={DAY0 + 1}&limit=3")
    assert status == 200 and [r[0] for r in rows] == [DAY0 + HOUR_MS * i for i in (1, 2, 3)]
    assert headers["X-MBX-USED-WEIGHT-1M"].isdigit()
    _, _, rows = get(sim_url, f"/api/v3/klines?symbol=BTCUSDT&interval=1h&endTime={DAY0}&limit=2")
    assert [r[0] for r in rows] == [DAY0 - HOUR_MS, DAY0]
    _, _, rows = get(sim_url, "/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=1000&endTime=2000")
    assert rows == []
    _, _, rows = get(sim_url, f"/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={DAY0 * 1000}&limit=1")
    assert rows[0][0] == DAY0, "microsecond startTime is accepted"
    assert all(isinstance(v, str) for v in rows[0][1:6]) and isinstance(rows[0][8], int)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("symbol=BTCUSDT&interval=7m", -1120),
        ("symbol=NOPE&interval=1h", -1121),
        ("interval=1h", -1102),
        ("symbol=BTCUSDT&interval=1h&limit=1001", -1130),
    ],
)
def test_kline_errors(sim_url: str, query: str, code: int):
    status, _, body = get(sim_url, f"/api/v3/klines?{query}")
    assert status == 400 and body["code"] == code


def test_ticker_shapes(sim_url: str):
    _, _, one = get(sim_url, "/api/v3/ticker/24hr?symbol=BTCUSDT")
    assert one["symbol"] == "BTCUSDT" and one["closeTime"] - one["openTime"] < 86_400_000 + 60_000
    _, _headers, many = get(sim_url, '/api/v3/ticker/24hr?symbols=["BTCUSDT","ETHUSDT"]'.replace('"', "%22"))
    assert [t["symbol"] for t in many] == ["BTCUSDT", "ETHUSDT"]


def test_weight_limit_gives_429_then_418(small_server: SimServer):
    base = small_server.base_url
    answers = [get(base, "/api/v3/ping") for _ in range(14)]
    assert [a[0] for a in answers] == [200] * 10 + [429, 429, 418, 418]
    assert [int(a[1]["X-MBX-USED-WEIGHT-1M"]) for a in answers[:10]] == list(range(1, 11))
    _, headers, body = answers[10]
    assert body["code"] == -1003 and 0 < int(headers["Retry-After"]) <= 60
    _, headers, body = answers[12]
    assert int(headers["Retry-After"]) == 120 and "IP banned until" in body["msg"]
    _, _, stats = get(base, "/_sim/stats")  # only accepted weight counts, in the minute it was used
    assert stats["weight_by_minute"] == {str(DAY0 // 60_000): 10}


def test_account_checks_key_and_signature(sim_url: str):
    status, _, body = get(sim_url, "/api/v3/account?timestamp=1")
    assert status == 401 and body["code"] == -2014
