"""One WebSocket connection to Binance's combined kline streams, kept alive by the rules Binance publishes.

At most 1024 streams per connection (the service opens more beyond); streams that do not fit in a short URL
are added with ``SUBSCRIBE`` messages, at most 4 a second (Binance closes a connection sending more than 5).
Server pings are answered by the websockets library. Reconnects back off exponentially (1 s … 60 s, with
jitter). Before Binance's 24-hour limit, and on a ``serverShutdown`` event, a new connection is opened
*before* the old one is closed, so no frame falls between them. Silence longer than ``silence_s`` (updates
normally come every one or two seconds) is taken for a dead connection. Every connect is reported, saying
whether frames may have been missed (the first connect, and any after a loss), so the service heals
those over REST.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from include.transforms import stream_events
from include.transforms.stream_events import ClosedCandle

log = logging.getLogger(__name__)
MAX_STREAMS = 1024
URL_BUDGET = 1900  # characters of stream names in the URL; the rest are subscribed by message
SUBSCRIBE_BATCH = 200
MESSAGES_PER_S = 4


class StreamConnection:
    """Closed candles of ``streams`` (names like ``btcusdt@kline_1m``) from ``base_url`` to ``on_closed``."""

    def __init__(
        self,
        base_url: str,
        streams: list[str],
        on_closed: Callable[[ClosedCandle], None],
        on_connected: Callable[[bool], None],
        *,
        max_age_s: float = 23.5 * 3600,
        silence_s: float = 10.0,
        name: str = "stream",
    ):
        if not streams or len(streams) > MAX_STREAMS:
            raise ValueError(f"a connection carries 1 to {MAX_STREAMS} streams, not {len(streams)}")
        self.base_url, self.streams, self.name = base_url, streams, name
        self.on_closed, self.on_connected = on_closed, on_connected
        self.max_age_s, self.silence_s = max_age_s, silence_s
        self.connects = self.frames = self.malformed = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set."""
        ws = await self._connect(stop, after_loss=True)
        while ws is not None:
            outcome = await self._session(ws, stop)
            if outcome == "stop":
                await ws.close()
                return
            if outcome == "replace":  # rollover or serverShutdown: the new connection first, then the old one goes
                new = await self._connect(stop, after_loss=False)
                await self._drain(ws)
                await ws.close()
                ws = new
            else:  # lost or silent: gone already, or abandoned
                ws.transport.abort()
                ws = await self._connect(stop, after_loss=True)

    async def _connect(self, stop: asyncio.Event, after_loss: bool) -> ClientConnection | None:
        """A new connection with every stream subscribed; backs off while Binance is unreachable."""
        failures = 0
        while not stop.is_set():
            in_url, by_message = self._split()
            try:
                ws = await connect(
                    f"{self.base_url}/stream?streams={'/'.join(in_url)}",
                    max_queue=None,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                )
                await self._subscribe(ws, by_message)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as err:
                failures += 1
                wait = min(60.0, 2 ** (failures - 1)) * random.uniform(0.8, 1.2)
                log.warning(
                    "%s: cannot connect to %s (%s); retry %d in %.1f s",
                    self.name,
                    self.base_url,
                    type(err).__name__,
                    failures,
                    wait,
                )
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                except TimeoutError:
                    continue
                return None
            self.connects += 1
            log.info("%s: connected (%d streams), connection %d", self.name, len(self.streams), self.connects)
            self.on_connected(after_loss)
            return ws
        return None

    def _split(self) -> tuple[list[str], list[str]]:
        """The streams named in the URL (while it stays short) and those subscribed by message."""
        in_url, length = [], 0
        for stream in self.streams:
            if in_url and length + len(stream) + 1 > URL_BUDGET:
                break
            in_url.append(stream)
            length += len(stream) + 1
        return in_url, self.streams[len(in_url) :]

    async def _subscribe(self, ws: ClientConnection, streams: list[str]) -> None:
        for index in range(0, len(streams), SUBSCRIBE_BATCH):
            batch = streams[index : index + SUBSCRIBE_BATCH]
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": batch, "id": index // SUBSCRIBE_BATCH + 1}))
            await asyncio.sleep(1 / MESSAGES_PER_S)

    async def _session(self, ws: ClientConnection, stop: asyncio.Event) -> str:
        """Read frames until the connection must go: "stop", "replace" (age, serverShutdown) or "lost"."""
        born = time.monotonic()
        while not stop.is_set():
            left = self.max_age_s - (time.monotonic() - born)
            if left <= 0:
                log.info(
                    "%s: connection %d is %.0f s old; rolling over to a new one",
                    self.name,
                    self.connects,
                    self.max_age_s,
                )
                return "replace"
            try:
                text = await asyncio.wait_for(ws.recv(), min(self.silence_s, left))
            except TimeoutError:
                if time.monotonic() - born >= self.max_age_s:
                    continue
                log.warning("%s: no frame for %.0f s; taking the connection for dead", self.name, self.silence_s)
                return "lost"
            except ConnectionClosed as err:
                log.warning(
                    "%s: connection closed (%s %s); reconnecting",
                    self.name,
                    err.rcvd.code if err.rcvd else "no close frame",
                    err.rcvd.reason if err.rcvd else "",
                )
                return "lost"
            if self._handle(text) == "shutdown":
                log.warning("%s: serverShutdown received; moving to a new connection", self.name)
                return "replace"
        return "stop"

    async def _drain(self, ws: ClientConnection) -> None:
        """Hand on the frames the old connection already holds (it kept receiving while the new one opened)."""
        while True:
            try:
                text = await asyncio.wait_for(ws.recv(), 0.05)
            except (TimeoutError, ConnectionClosed):
                return
            self._handle(text)

    def _handle(self, text: Any) -> str:
        self.frames += 1
        try:
            frame = stream_events.parse(text)
        except ValueError as err:
            self.malformed += 1
            log.warning("%s: skipping a malformed frame: %s", self.name, err)
            return "malformed"
        if frame.kind == "closed" and frame.candle is not None:
            self.on_closed(frame.candle)
        return frame.kind
