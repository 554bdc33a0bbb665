"""Property-based tests: kline validation never drops a row silently; paging covers any range exactly."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from include.intervals import FIXED_MS
from include.transforms.klines import transform_klines
from tests.conftest import connection_uri, sim_market

HOUR_MS = FIXED_MS["1h"]
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z
NOW = T0 + 10**12


def decimal(units: int) -> str:
    return f"{units // 10**8}.{units % 10**8:08d}"


@st.composite
def candle(draw: st.DrawFn) -> list:
    """A valid 1h kline array: aligned open, high/low bracketing open/close, non-negative volumes."""
    open_ms = T0 + draw(st.integers(0, 5000)) * HOUR_MS
    o, c = draw(st.integers(1, 10**14)), draw(st.integers(1, 10**14))
    high = max(o, c) + draw(st.integers(0, 10**12))
    low = min(o, c) - draw(st.integers(0, min(o, c) - 1))
    volumes = [draw(st.integers(0, 10**16)) for _ in range(4)]
    return [
        open_ms,
        decimal(o),
        decimal(high),
        decimal(low),
        decimal(c),
        decimal(volumes[0]),
        open_ms + HOUR_MS - 1,
        decimal(volumes[1]),
        draw(st.integers(0, 10**6)),
        decimal(volumes[2]),
        decimal(volumes[3]),
        "0",
    ]


BREAKS = {
    "high below open/close": lambda k: k.__setitem__(2, str(max(Decimal(k[1]), Decimal(k[4])) - Decimal("1e-8"))),
    "low above open/close": lambda k: k.__setitem__(3, "99999999999.00000000"),
    "negative volume": lambda k: k.__setitem__(5, "-1.0"),
    "misaligned open time": lambda k: k.__setitem__(0, k[0] + 1),
    "not a decimal": lambda k: k.__setitem__(4, "12,5"),
    "missing fields": lambda k: k.__delitem__(slice(5, None)),
}


@settings(max_examples=200, deadline=None)
@given(st.lists(candle(), max_size=40))
def test_valid_candles_are_all_kept_once(rows: list[list]):
    batch = transform_klines([list(r) for r in rows], "BTCUSDT", "1h", NOW)
    assert batch.rejects == []
    assert [r[3] for r in batch.rows] == sorted({r[0] for r in rows})
    assert len(batch.rows) + batch.duplicates == len(rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(candle(), min_size=1, max_size=20), st.data())
def test_a_broken_candle_is_rejected_with_its_reason_and_nothing_is_dropped(rows: list[list], data: st.DataObject):
    index = data.draw(st.integers(0, len(rows) - 1))
    rows = [list(r) for r in rows if r[0] != rows[index][0]] + [list(rows[index])]
    BREAKS[data.draw(st.sampled_from(sorted(BREAKS)))](rows[-1])
    batch = transform_klines(rows, "BTCUSDT", "1h", NOW)
    assert len(batch.rejects) == 1
    assert batch.rejects[0][3]  # a reason is given
    assert len(batch.rows) + len(batch.rejects) + batch.duplicates == len(rows)


@pytest.fixture(scope="module")
def sim_connection(sim_url: str) -> Iterator[None]:
    os.environ["AIRFLOW_CONN_BINANCE_DEFAULT"] = connection_uri(sim_url)
    yield
    os.environ.pop("AIRFLOW_CONN_BINANCE_DEFAULT", None)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    interval=st.sampled_from(["1m", "5m", "1h", "1d", "1w", "1M"]),
    start=st.integers(-30 * 86_400_000, 800 * 86_400_000),
    length=st.integers(1, 3_000),
)
def test_paging_any_range_returns_exactly_the_server_candles(
    sim_connection: None, interval: str, start: int, length: int
):
    from binance_airflow.binance.hook import BinanceHook
    from include.binance_sim.payloads import klines_json

    step = FIXED_MS.get(interval, 30 * 86_400_000)
    start_ms = T0 + start
    end_ms = min(start_ms + length * step // 7 + 1, T0 + 900 * 86_400_000)  # well before now
    got = list(BinanceHook(sleep=lambda s: None).iter_klines("ETHUSDT", interval, start_ms, end_ms))
    market = sim_market()
    want = json.loads(klines_json(market.klines("ETHUSDT", interval, start_ms, end_ms - 1, 10**7)))
    assert got == want
