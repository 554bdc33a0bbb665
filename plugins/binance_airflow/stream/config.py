"""What the stream service streams, and where from: one place an Airflow user finds (Admin → Variables).

The Airflow Variable ``binance_stream`` holds JSON, e.g. ``{"symbols": ["BTCUSDT", "ETHUSDT"], "intervals":
["1m"]}``; without it, the DAGs' default symbols at ``1m``. The stream endpoint is the ``binance_default``
connection's extra ``stream_url`` (default Binance's ``wss://stream.binance.com:9443``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow.sdk import Variable

from include import settings
from include.intervals import validate_interval
from include.run_window import normalise_symbols

VARIABLE = "binance_stream"
STREAM_HOST = "wss://stream.binance.com:9443"


@dataclass(frozen=True)
class StreamConfig:
    symbols: list[str]
    intervals: list[str]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Every (symbol, interval) streamed."""
        return [(symbol, interval) for interval in self.intervals for symbol in self.symbols]


def load(raw: Any = None) -> StreamConfig:
    """The ``binance_stream`` Variable (or ``raw``) as a config; ValueError names what is wrong with it."""
    value = Variable.get(VARIABLE, default=None, deserialize_json=True) if raw is None else raw
    value = value or {}
    if not isinstance(value, dict):
        example = '{"symbols": ["BTCUSDT"], "intervals": ["1m"]}'
        raise ValueError(f"Variable {VARIABLE} must be a JSON object such as {example}, not {value!r}")
    intervals = value.get("intervals", ["1m"])
    if not isinstance(intervals, list) or not intervals:
        raise ValueError(f"Variable {VARIABLE}: 'intervals' must be a non-empty list, got {intervals!r}")
    symbols = normalise_symbols(value.get("symbols", settings.DEFAULT_SYMBOLS))
    return StreamConfig(symbols, [validate_interval(str(interval)) for interval in dict.fromkeys(intervals)])


def stream_url(extras: dict[str, Any]) -> str:
    """The WebSocket endpoint from the ``binance_default`` connection's extras."""
    return str(extras.get("stream_url") or STREAM_HOST).rstrip("/")
