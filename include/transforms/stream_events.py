"""Frames of Binance's WebSocket market streams, read into what the real-time path acts on (pure; no I/O).

A combined-stream frame is ``{"stream": name, "data": event}``, a raw one the event itself. A ``kline``
event carries its candle in ``k``; ``k.x`` says whether it is closed. Candles become the same 12-field
arrays REST serves, so the stream path validates and stores them exactly as the batch path does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from include.intervals import INTERVALS
from include.symbol_selection import is_name

SOURCE = "binance_ws"


@dataclass(frozen=True)
class ClosedCandle:
    symbol: str
    interval: str
    kline: list[Any]  # the REST kline array: open time, o, h, l, c, v, close time, q, n, V, Q, ignore


@dataclass(frozen=True)
class Frame:
    """One frame: a closed candle, an open-candle update, a server shutdown notice, or something else."""

    kind: str  # "closed", "open", "shutdown", "reply" (answers to SUBSCRIBE and the like), "other"
    stream: str | None = None
    candle: ClosedCandle | None = None


def stream_name(symbol: str, interval: str) -> str:
    """``btcusdt@kline_1m``: stream names are lower case, the interval as Binance spells it (``1M`` stays)."""
    return f"{symbol.lower()}@kline_{interval}"


def parse(text: str | bytes) -> Frame:
    """Read one frame; ValueError (with the reason) when it is not JSON or not a well-formed event."""
    try:
        message = json.loads(text)
    except ValueError as err:
        raise ValueError(f"frame is not JSON ({err}): {str(text)[:120]!r}") from None
    if not isinstance(message, dict):
        raise ValueError(f"frame is not a JSON object: {str(text)[:120]!r}")
    stream = message.get("stream") if "data" in message else None
    event = message.get("data", message)
    if not isinstance(event, dict):
        raise ValueError(f"frame data is not an event: {str(text)[:120]!r}")
    if event.get("e") == "serverShutdown":
        return Frame("shutdown", stream)
    if "result" in event or "error" in event:
        return Frame("reply", stream)
    if event.get("e") != "kline":
        return Frame("other", stream)
    k = event.get("k")
    try:
        kline = [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], "0"]
        closed, symbol, interval = k["x"], k["s"], k["i"]
    except (KeyError, TypeError):
        raise ValueError(f"kline event without its candle fields: {str(text)[:160]!r}") from None
    if closed is not True and closed is not False:
        raise ValueError(f"kline event with k.x = {closed!r}, expected true or false")
    if not is_name(symbol) or interval not in INTERVALS:
        raise ValueError(f"kline event for {str(symbol)[:40]!r} {str(interval)[:8]!r}: not a symbol name and interval")
    return Frame("closed" if closed else "open", stream, ClosedCandle(str(symbol), str(interval), kline))
