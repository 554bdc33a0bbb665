"""Reading Binance's WebSocket stream frames (pure): closed candles as REST klines, everything else set aside."""

from __future__ import annotations

import json

import pytest

from include.transforms import klines
from include.transforms.stream_events import parse, stream_name

# The kline event of Binance's docs (web-socket-streams.md), with k.x set per test.
DOCS_EVENT = {
    "e": "kline",
    "E": 1672515782136,
    "s": "BNBBTC",
    "k": {
        "t": 1672515780000,
        "T": 1672515839999,
        "s": "BNBBTC",
        "i": "1m",
        "f": 100,
        "L": 200,
        "o": "0.0010",
        "c": "0.0020",
        "h": "0.0025",
        "l": "0.0015",
        "v": "1000",
        "n": 100,
        "x": True,
        "q": "1.0000",
        "V": "500",
        "Q": "0.500",
        "B": "123456",
    },
}


def test_a_closed_candle_becomes_the_kline_rest_serves_and_meets_the_batch_validation():
    frame = parse(json.dumps({"stream": "bnbbtc@kline_1m", "data": DOCS_EVENT}))
    assert (frame.kind, frame.stream) == ("closed", "bnbbtc@kline_1m")
    assert frame.candle.kline == [
        1672515780000,
        "0.0010",
        "0.0025",
        "0.0015",
        "0.0020",
        "1000",
        1672515839999,
        "1.0000",
        100,
        "500",
        "0.500",
        "0",
    ]
    batch = klines.transform_klines([frame.candle.kline], "BNBBTC", "1m", 1_800_000_000_000, "binance_ws")
    assert batch.rejects[0][3] == "low 0.0015 is above open/close"  # the docs' example is not a valid candle
    frame.candle.kline[3] = "0.0009"
    batch = klines.transform_klines([frame.candle.kline], "BNBBTC", "1m", 1_800_000_000_000, "binance_ws")
    assert batch.rejects == [] and batch.rows[0][-1] == "binance_ws"


def test_open_candles_replies_and_shutdown_notices_are_told_apart():
    open_event = {**DOCS_EVENT, "k": {**DOCS_EVENT["k"], "x": False}}
    assert parse(json.dumps(open_event)).kind == "open"  # a raw-stream frame: the event unwrapped
    assert parse('{"result": null, "id": 1}').kind == "reply"
    assert parse('{"e": "serverShutdown", "E": 1}').kind == "shutdown"
    assert parse('{"stream": "x", "data": {"e": "trade"}}').kind == "other"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"stream": "btcusdt@kline_1m", "data": {"e": "kline", "k": ', "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"e": "kline", "k": {"t": 1}}', "without its candle fields"),
        (json.dumps({**DOCS_EVENT, "k": {**DOCS_EVENT["k"], "x": "yes"}}), "k.x = 'yes'"),
    ],
)
def test_a_malformed_frame_is_refused_with_the_reason(text: str, reason: str):
    with pytest.raises(ValueError, match=reason):
        parse(text)


def test_stream_names_are_lower_case_but_keep_the_monthly_interval():
    assert stream_name("BTCUSDT", "1M") == "btcusdt@kline_1M" and stream_name("ETHBTC", "1s") == "ethbtc@kline_1s"
