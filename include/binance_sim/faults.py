"""Fault injection for resilience tests: a queue of one-shot faults matched by path prefix."""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = (
    "status",
    "malformed",
    "html",
    "reset",
    "delay",
    "rate_limit",
    "ban",
    "bad_candle",
    "corrupt",
    "short_page",
    "repeat_candle",
    "missing_candle",
    "cut",
    # WebSocket streams (path /stream...; see streams.py)
    "ws_drop",
    "ws_stall",
    "ws_duplicate",
    "ws_reorder",
    "ws_shutdown",
    "ws_malformed",
)


@dataclass
class Fault:
    """``kind`` applies to the next ``times`` requests whose path starts with ``path``.

    status: answer ``status`` with a Binance error body; malformed: a truncated JSON body;
    html: an HTML page with status 200; reset: close the connection without answering;
    delay: sleep ``seconds`` before answering normally; rate_limit: a 429 with ``Retry-After``
    of ``seconds``; ban: a 418 for ``seconds``; bad_candle: answer normally, but the first candle of
    the page has a high below its open and close (a row the ETL must reject, not drop); corrupt: an
    archive file (``/data/...``) is served with one byte flipped, so it no longer matches its checksum;
    short_page: only the first half of a kline page is answered; repeat_candle: the page also carries,
    first, a copy of the candle just before it (a duplicate across pages); missing_candle: the middle
    candle of the page is left out, as an exchange outage leaves a hole in the series; cut: the headers
    (with the full Content-Length) and half of the body are sent, then the connection is closed, as a
    flaky network or CDN does mid-transfer. The ``ws_*`` kinds disturb the WebSocket streams (streams.py).
    """

    kind: str
    path: str = "/api/v3/"
    times: int = 1
    status: int = 503
    seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; kinds: {', '.join(KINDS)}")


class FaultQueue:
    """Thread-safe list of pending faults; ``take`` pops the first that matches a path."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str, kinds: tuple[str, ...] | None = None) -> Fault | None:
        """The first fault for ``path`` (of one of ``kinds``, when given), counting one use of it."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path) and (kinds is None or fault.kind in kinds):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None
