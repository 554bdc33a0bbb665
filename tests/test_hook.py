"""BinanceHook against the simulator over real HTTP on 127.0.0.1 (no mocked requests)."""

from __future__ import annotations

import itertools
import json
import logging
import time
from datetime import UTC, datetime

import pytest

from binance_airflow.binance.archives import archive_root
from binance_airflow.binance.errors import (
    BinanceAnswerRefused,
    BinanceAPIError,
    BinanceBannedError,
    BinanceUnavailableError,
)
from binance_airflow.binance.hook import BinanceHook
from binance_airflow.stream.config import stream_url
from include.binance_sim.payloads import klines_json
from include.intervals import MINUTE_MS
from tests.conftest import API_SECRET, Sim, connection_uri, sim_market

START = datetime(2024, 5, 1, 0, 0, 30, tzinfo=UTC)  # deliberately not on a candle boundary
END = datetime(2024, 5, 3, 0, 0, tzinfo=UTC)


class RecordingSleep:
    """Sleeps for real (shortened) and remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(min(seconds, 0.05))


def expected_klines(symbol: str, interval: str, start: datetime, end: datetime) -> list[list]:
    """What the server holds, read straight from an identical market, page by page."""
    market = sim_market()
    rows, cursor, end_ms = [], int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    while page := json.loads(klines_json(market.klines(symbol, interval, cursor, end_ms - 1, 1000))):
        rows += page
        cursor = page[-1][0] + 1
    return rows


def test_public_round_trip(binance_conn: Sim):
    hook = BinanceHook()
    assert hook.ping()
    assert abs(hook.server_time_ms() - time.time() * 1000) < 5_000
    info = hook.exchange_info(["BTCUSDT", "ETHUSDT"])
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert hook.budget.limit == 6000
    tickers = hook.ticker_24hr(["BTCUSDT", "ETHUSDT"])
    assert {t["symbol"] for t in tickers} == {"BTCUSDT", "ETHUSDT"}
    assert float(tickers[0]["highPrice"]) >= float(tickers[0]["lowPrice"]) > 0


def test_paging_over_2500_candles_equals_server_exactly(binance_conn: Sim):
    hook = BinanceHook()
    got = list(hook.iter_klines("ETHUSDT", "1m", START, END))
    assert len(got) == (int(END.timestamp()) - int(START.timestamp()) - 30) // 60 == 2879
    assert got == expected_klines("ETHUSDT", "1m", START, END)
    opens = [k[0] for k in got]
    assert opens == sorted(set(opens)) and all(b - a == MINUTE_MS for a, b in itertools.pairwise(opens))
    assert binance_conn.requests("/api/v3/klines") == 3


def test_paging_stops_at_listing_and_at_now(binance_conn: Sim):
    hook = BinanceHook()
    before_listing = list(
        hook.iter_klines("BNBUSDT", "1d", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 5, tzinfo=UTC))
    )
    assert [datetime.fromtimestamp(k[0] / 1000, UTC).day for k in before_listing] == [1, 2, 3, 4]
    now = datetime.now(UTC)
    recent = list(hook.iter_klines("BTCUSDT", "1h", datetime(2024, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)))
    assert recent[-1][0] <= now.timestamp() * 1000 < recent[-1][6] + 1  # the still-open candle is the last


def test_unknown_symbol_is_a_clear_api_error(binance_conn: Sim):
    with pytest.raises(BinanceAPIError, match="-1121") as info:
        list(BinanceHook().iter_klines("NOPEUSDT", "1h", START, END))
    assert info.value.code == -1121


def test_bad_interval_fails_before_any_request(binance_conn: Sim):
    with pytest.raises(ValueError, match="'7m'"):
        list(BinanceHook().iter_klines("BTCUSDT", "7m", START, END))
    assert binance_conn.requests("/api/v3/klines") == 0


def test_429_waits_retry_after_then_succeeds(binance_conn: Sim):
    binance_conn.fault("rate_limit", path="/api/v3/ticker/24hr", seconds=3, times=2)
    sleep = RecordingSleep()
    tickers = BinanceHook(sleep=sleep).ticker_24hr(["BTCUSDT"])
    assert tickers[0]["symbol"] == "BTCUSDT"
    assert sleep.waits[:2] == [3.0, 3.0]
    assert binance_conn.requests("/api/v3/ticker/24hr") == 3


def test_a_retry_after_longer_than_the_cap_fails_at_once_naming_it(binance_conn: Sim):
    """A hostile or broken server's ``Retry-After: 999999999`` used to be slept as given."""
    binance_conn.fault("rate_limit", path="/api/v3/ticker/24hr", seconds=999_999_999, times=1)
    sleep = RecordingSleep()
    with pytest.raises(BinanceAnswerRefused, match=r"Retry-After 999999999 s, more than the 300 s .*MAX_RETRY_AFTER"):
        BinanceHook(sleep=sleep).ticker_24hr(["BTCUSDT"])
    assert sleep.waits == []


@pytest.mark.parametrize("stated", [1, 49])
def test_an_exchange_info_limit_below_the_floor_is_refused(binance_conn: Sim, stated: int):
    """A REQUEST_WEIGHT limit of 1 made the budget's ceiling 0: every request then waited a minute."""
    binance_conn.configure(stated_weight_limit=stated)
    hook = BinanceHook(sleep=RecordingSleep())
    with pytest.raises(BinanceAnswerRefused, match=rf"REQUEST_WEIGHT limit of {stated}/min, below the 50/min"):
        hook.exchange_info()
    assert hook.budget.limit == 6000


def test_a_request_heavier_than_the_whole_ceiling_fails_at_once(binance_conn: Sim):
    sleep = RecordingSleep()
    with pytest.raises(BinanceAnswerRefused, match="weight 80 exceeds the budget's ceiling of 54 per minute"):
        BinanceHook(weight_limit=60, sleep=sleep).ticker_24hr()
    assert sleep.waits == [] and binance_conn.requests("/api/v3/ticker/24hr") == 0


def test_418_stops_at_once_with_ban_time(binance_conn: Sim):
    binance_conn.fault("ban", path="/api/v3/klines", seconds=300, times=5)
    sleep = RecordingSleep()
    with pytest.raises(BinanceBannedError, match=r"banned until \d{4}-\d\d-\d\d .*Retry-After 300 s"):
        list(BinanceHook(sleep=sleep).iter_klines("BTCUSDT", "1h", START, END))
    assert binance_conn.requests("/api/v3/klines") == 1
    assert sleep.waits == []


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("status", 500),
        ("status", 502),
        ("status", 503),
        ("malformed", 503),
        ("html", 503),
        ("reset", 503),
        ("cut", 503),
    ],
    ids=["HTTP 500", "HTTP 502", "HTTP 503", "truncated JSON", "HTML page with status 200", "reset", "cut"],
)
def test_transient_failures_are_retried_with_backoff(binance_conn: Sim, kind: str, status: int):
    binance_conn.fault(kind, path="/api/v3/klines", times=2, status=status)
    sleep = RecordingSleep()
    got = list(BinanceHook(sleep=sleep, backoff_seconds=0.5).iter_klines("BTCUSDT", "1h", START, END))
    assert got == expected_klines("BTCUSDT", "1h", START, END)
    assert sleep.waits == [0.5, 1.0]


def test_retries_are_bounded(binance_conn: Sim):
    binance_conn.fault("status", path="/api/v3/ping", times=10, status=502)
    with pytest.raises(BinanceUnavailableError, match="giving up after 3 attempts; last error: HTTP 502"):
        BinanceHook(sleep=RecordingSleep(), max_retries=2).ping()
    assert binance_conn.requests("/api/v3/ping") == 3


@pytest.mark.parametrize("conn_type", ["binance", "http"])
def test_a_binance_connection_and_the_http_one_it_replaces_read_alike(
    monkeypatch: pytest.MonkeyPatch, sim: Sim, conn_type: str
):
    uri = connection_uri(sim.base_url, archives=True, conn_type=conn_type, stream_url="ws://127.0.0.1:1/")
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", uri)
    hook = BinanceHook()
    assert hook.connection.conn_type == conn_type
    assert {b["asset"] for b in hook.account()["balances"]} == {"BTC", "ETH", "USDT"}  # key pair: login, password
    assert archive_root(hook.connection.host, hook.connection.extra_dejson) == sim.base_url
    assert stream_url(hook.connection.extra_dejson) == "ws://127.0.0.1:1"
    assert "archive_url" not in hook.session.headers  # the package's own extras are not sent as headers


def test_signed_account_and_clock_resync(binance_conn: Sim):
    binance_conn.configure(clock_skew_ms=-30_000)  # our clock is 30 s ahead of the server's
    account = BinanceHook().account()
    assert {b["asset"] for b in account["balances"]} == {"BTC", "ETH", "USDT"}
    assert binance_conn.requests("/api/v3/time") == 1


def test_wrong_secret_is_rejected_and_secret_never_logged(
    monkeypatch: pytest.MonkeyPatch, sim: Sim, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url))
    sim.configure(clock_skew_ms=-30_000)
    sim.fault("status", path="/api/v3/account", status=500)
    BinanceHook(sleep=RecordingSleep()).account()
    wrong = "wrong-secret-Hq7Pz0aa"
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url).replace(API_SECRET, wrong))
    with pytest.raises(BinanceAPIError, match="-1022") as info:
        BinanceHook().account()
    out, err = capfd.readouterr()
    hook_lines = [line for line in (out + err).splitlines() if "BinanceHook" in line]
    assert any("retry 1/5" in line for line in hook_lines) and any("-1021" in line for line in hook_lines)
    assert not any("signature" in line for line in hook_lines)
    for secret in (API_SECRET, wrong):
        assert secret not in caplog.text + out + err
        assert secret not in str(info.value)


def test_account_without_key_is_refused_locally(monkeypatch: pytest.MonkeyPatch, sim: Sim):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, with_key=False))
    hook = BinanceHook()
    assert not hook.has_credentials
    with pytest.raises(BinanceAPIError, match="needs an API key"):
        hook.account()
    assert sim.requests("/api/v3/account") == 0


def test_missing_connection_names_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AIRFLOW_CONN_BINANCE_DEFAULT", raising=False)
    with pytest.raises(Exception, match="'binance_missing' is not defined"):
        BinanceHook("binance_missing").ping()


def test_the_ping_trigger_polls_until_binance_answers_and_reports_a_ban(binance_conn: Sim):
    """What the triggerer runs for a deferred ``binance_up``: it waits out failures, and a 418 ends the wait."""
    import asyncio

    from binance_airflow.binance.triggers import BinancePingTrigger

    async def first_event() -> dict:
        async for event in BinancePingTrigger("binance_default", poke_interval=0.05).run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    binance_conn.fault("status", path="/api/v3/ping", status=503, times=3)
    assert asyncio.run(first_event()) == {"status": "up"}
    assert binance_conn.requests("/api/v3/ping") == 4
    binance_conn.fault("ban", path="/api/v3/ping", seconds=300, times=1)
    assert asyncio.run(first_event()) == {"status": "banned", "retry_after_s": 300}
    classpath, kwargs = BinancePingTrigger("binance_default", 2.0).serialize()
    assert classpath == "binance_airflow.binance.triggers.BinancePingTrigger"
    assert kwargs == {"binance_conn_id": "binance_default", "poke_interval": 2.0}
