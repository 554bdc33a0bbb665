"""What a run covers: a scheduled period loads the candles that closed in it; an explicit window, by open time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from include.intervals import FIXED_MS, INTERVALS, month_start
from include.run_window import resolve
from tests.conftest import sim_market

MONTH, NEXT_MONTH = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def closes(open_ms: np.ndarray, interval: str) -> np.ndarray:
    """When each candle closes: the next open on its grid (whatever its reported close_time)."""
    if interval == "1M":
        return np.array([month_start(int(o), 1) for o in open_ms], dtype=np.int64)
    return open_ms + FIXED_MS[interval]


@pytest.mark.parametrize("interval", INTERVALS)
def test_a_month_of_daily_runs_covers_every_closed_candle_exactly_once(interval: str):
    """29 daily periods of February 2024, each resolved as its run does a minute after the period ends: each
    candle that closed in the month is in exactly one run's window, and none that is still open then
    (3d grids differ per symbol: BTCUSDT's and ETHUSDT's start on different days)."""
    market = sim_market()
    for symbol in ("BTCUSDT", "ETHUSDT")[interval == "1s" :]:  # 1s: one symbol is enough (and 2.5 M candles)
        loaded: list[int] = []
        day = MONTH
        while day < NEXT_MONTH:
            end = day + timedelta(days=1)
            window = resolve({"symbols": [symbol], "interval": interval}, day, end, day, now=end + timedelta(minutes=1))
            if window.end_ms > window.start_ms:
                opens = market.klines(symbol, interval, window.start_ms, window.end_ms - 1, 10**7)["open_time"]
                loaded += opens.tolist()
            day += timedelta(days=1)
        before = ms(MONTH) - FIXED_MS.get(interval, 31 * 86_400_000)
        served = market.klines(symbol, interval, before, ms(NEXT_MONTH), 10**7)["open_time"]
        closed_in_month = served[(closes(served, interval) > ms(MONTH)) & (closes(served, interval) <= ms(NEXT_MONTH))]
        assert loaded == closed_in_month.tolist()  # in order, none twice, none missing
        assert len(loaded) > 0


def test_a_weekly_candle_is_loaded_by_the_daily_run_of_the_day_it_closes():
    params = {"symbols": ["BTCUSDT"], "interval": "1w"}
    tuesday = datetime(2024, 5, 14, tzinfo=UTC)
    quiet = resolve(params, tuesday, tuesday + timedelta(days=1), tuesday)  # no error: just nothing to load
    assert sim_market().klines("BTCUSDT", "1w", quiet.start_ms, quiet.end_ms - 1, 10)["open_time"].size == 0
    sunday = datetime(2024, 5, 19, tzinfo=UTC)
    window = resolve(params, sunday, sunday + timedelta(days=1), sunday)
    opens = sim_market().klines("BTCUSDT", "1w", window.start_ms, window.end_ms - 1, 10)["open_time"].tolist()
    assert opens == [ms(datetime(2024, 5, 13, tzinfo=UTC))]  # the week that closed at Monday 00:00


def test_an_explicit_window_is_by_open_time_and_stops_before_the_open_candle():
    params = {"symbols": ["BTCUSDT"], "interval": "1h", "start": "2024-05-01T06:30", "end": "2099-01-01"}
    window = resolve(params, None, None, None)
    now = datetime.now(UTC)
    assert window.start_ms == ms(datetime(2024, 5, 1, 6, 30, tzinfo=UTC))
    assert window.end_ms == ms(now.replace(minute=0, second=0, microsecond=0))  # the current hour is still open
    with pytest.raises(ValueError, match="lies in the future"):
        resolve({**params, "start": "2098-01-01"}, None, None, None)
