"""Binance's WebSocket kline streams from a ``Market``, on their own port (as stream.binance.com is its own host).

Paths: ``/ws/<stream>`` (raw) and ``/stream?streams=<a>/<b>/…`` (combined: each message wrapped as
``{"stream": name, "data": event}``); stream names are lower case, ``<symbol>@kline_<interval>``. While a
candle is open an update (``k.x`` false) goes out every 1000 ms for ``1s`` and every 2000 ms otherwise;
when it closes, the closed candle (``k.x`` true). As on Binance: at most 1024 streams per connection, the
server pings every 20 s, more than 5 incoming messages a second closes the connection, and a connection
lives at most ``max_connection_s`` (24 h; tests shorten it). Live ``SUBSCRIBE``/``UNSUBSCRIBE``/
``LIST_SUBSCRIPTIONS`` are answered.

Faults, queued through the simulator's ``/_sim/faults`` with a path starting ``/stream``: ``ws_drop``
(the TCP connection is cut, no close frame), ``ws_stall`` (no message for ``seconds``, pings still
answered), ``ws_duplicate`` (the next closed candle is sent twice), ``ws_reorder`` (the next two closed
candles are sent in reverse order), ``ws_shutdown`` (a ``serverShutdown`` event, then the connection is
closed), ``ws_malformed`` (a frame that is not JSON).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from include.binance_sim.faults import FaultQueue
from include.binance_sim.market import Market, format_units
from include.intervals import INTERVALS, next_open

DISRUPTIONS = ("ws_drop", "ws_stall", "ws_shutdown", "ws_malformed")
MAX_STREAMS = 1024
MAX_INCOMING_PER_S = 5
STREAM = re.compile(r"^([a-z0-9]+)@kline_(1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)$")


@dataclass
class Subscription:
    name: str
    symbol: str
    interval: str
    pending_open: int  # the open candle: announced as closed once the next one has opened
    next_update_ms: int = 0


@dataclass
class StreamSettings:
    """What tests tune at run time (``POST /_sim/config``)."""

    max_connection_s: float = 24 * 3600
    connections: int = 0  # opened so far
    closed_frames: int = 0  # closed candles sent so far
    lock: threading.Lock = field(default_factory=threading.Lock)


def kline_event(market: Market, symbol: str, interval: str, open_ms: int, closed: bool, now_ms: int) -> dict | None:
    """The ``kline`` event of ``symbol``'s candle opening at ``open_ms`` (None when it has no trade)."""
    table = market.klines(symbol, interval, open_ms, open_ms, 1)
    if len(table["open_time"]) == 0 or int(table["open_time"][0]) != open_ms:
        return None
    row = {name: int(values[0]) for name, values in table.items()}
    first_trade = (open_ms // 1000) * 7
    k = {
        "t": open_ms,
        "T": row["close_time"],
        "s": symbol,
        "i": interval,
        "f": first_trade,
        "L": first_trade + row["trades"] - 1,
        "o": format_units(row["open"]),
        "c": format_units(row["close"]),
        "h": format_units(row["high"]),
        "l": format_units(row["low"]),
        "v": format_units(row["volume"]),
        "n": row["trades"],
        "x": closed,
        "q": format_units(row["quote_volume"]),
        "V": format_units(row["taker_base"]),
        "Q": format_units(row["taker_quote"]),
        "B": "0",
    }
    return {"e": "kline", "E": now_ms, "s": symbol, "k": k}


class StreamServer:
    """The kline streams of ``market`` on 127.0.0.1, served from a background thread with its own event loop."""

    def __init__(self, market: Market, faults: FaultQueue, port: int = 0):
        self.market, self.faults, self.port = market, faults, port
        self.settings = StreamSettings()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> str:
        threading.Thread(target=self._run, name="binance-sim-streams", daemon=True).start()
        self._ready.wait(10)
        return self.url

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._handle, "127.0.0.1", self.port, ping_interval=20, max_queue=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    # -- one connection ----------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        with self.settings.lock:
            self.settings.connections += 1
        url = urlsplit(connection.request.path)
        combined = url.path == "/stream"
        if combined:
            names = [n for n in parse_qs(url.query).get("streams", [""])[0].split("/") if n]
        elif url.path.startswith("/ws/"):
            names = [url.path.removeprefix("/ws/")]
        else:
            await connection.close(1008, f"unknown path {url.path}")
            return
        subscriptions: dict[str, Subscription] = {}
        error = self._subscribe(subscriptions, names)
        if error:
            await connection.close(1008, error)
            return
        deadline = time.monotonic() + self.settings.max_connection_s
        reader = asyncio.create_task(self._read(connection, subscriptions))
        try:
            await self._push(connection, subscriptions, combined, deadline, reader)
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()

    def _subscribe(self, subscriptions: dict[str, Subscription], names: list[str]) -> str | None:
        """Add ``names``; an error message when one is not a kline stream of a listed symbol, or too many."""
        now = self.market.now_ms()
        for name in names:
            match = STREAM.match(name)
            if not match or match.group(1).upper() not in self.market.specs or match.group(2) not in INTERVALS:
                return f"invalid stream name {name!r}"
            symbol, interval = match.group(1).upper(), match.group(2)
            subscriptions[name] = Subscription(name, symbol, interval, self.market.floor(symbol, now, interval))
        if len(subscriptions) > MAX_STREAMS:
            return f"too many streams: {len(subscriptions)} > {MAX_STREAMS}"
        return None

    async def _read(self, connection: ServerConnection, subscriptions: dict[str, Subscription]) -> None:
        """Answer live (un)subscriptions; more than 5 incoming messages in a second closes the connection."""
        window, count = int(time.monotonic()), 0
        async for message in connection:
            second = int(time.monotonic())
            window, count = (second, 1) if second != window else (window, count + 1)
            if count > MAX_INCOMING_PER_S:
                await connection.close(1008, "Too many requests")
                return
            try:
                request = json.loads(message)
                method, params, ident = request["method"], request.get("params", []), request.get("id")
            except (ValueError, KeyError, TypeError):
                await connection.send(json.dumps({"error": {"code": 2, "msg": "Invalid request"}}))
                continue
            if method == "SUBSCRIBE":
                error = self._subscribe(subscriptions, list(params))
                answer = {"result": None, "id": ident} if not error else {"error": {"code": 2, "msg": error}}
            elif method == "UNSUBSCRIBE":
                for name in params:
                    subscriptions.pop(name, None)
                answer = {"result": None, "id": ident}
            elif method == "LIST_SUBSCRIPTIONS":
                answer = {"result": list(subscriptions), "id": ident}
            else:
                answer = {"error": {"code": 2, "msg": f"unknown method {method}"}, "id": ident}
            await connection.send(json.dumps(answer))

    async def _push(
        self,
        connection: ServerConnection,
        subscriptions: dict[str, Subscription],
        combined: bool,
        deadline: float,
        reader: asyncio.Task,
    ) -> None:
        held: list[str] = []  # ws_reorder: a closed frame sent after the next one
        while not reader.done():
            if time.monotonic() >= deadline:
                await connection.close(1000, "connection lifetime reached (24 hours)")
                return
            fault = self.faults.take("/stream", DISRUPTIONS)
            if fault and await self._disrupt(connection, fault):
                return
            now = self.market.now_ms()
            frames: list[str] = []
            for sub in list(subscriptions.values()):  # closed candles first: they are what clients wait for
                while next_open(sub.pending_open, sub.interval) <= now:
                    event = kline_event(self.market, sub.symbol, sub.interval, sub.pending_open, True, now)
                    sub.pending_open = next_open(sub.pending_open, sub.interval)
                    if event is not None:
                        frames.append(self._wrap(sub.name, event, combined))
            with self.settings.lock:
                self.settings.closed_frames += len(frames)
            updates = []
            for sub in list(subscriptions.values()):
                if now >= sub.next_update_ms:
                    sub.next_update_ms = now + (1000 if sub.interval == "1s" else 2000)
                    event = kline_event(self.market, sub.symbol, sub.interval, sub.pending_open, False, now)
                    if event is not None:
                        updates.append(self._wrap(sub.name, event, combined))
            mangle = self.faults.take("/stream", ("ws_duplicate", "ws_reorder")) if frames else None
            if mangle and mangle.kind == "ws_duplicate":
                frames += frames[:1]
            elif mangle:  # ws_reorder
                held += frames[:1]
                frames = frames[1:]
            elif held and frames:
                frames, held = frames + held, []
            for frame in frames + updates:
                await connection.send(frame)
            await asyncio.sleep(self._until_next(subscriptions) / 1000)

    def _until_next(self, subscriptions: dict[str, Subscription]) -> float:
        """Milliseconds until the next close or update of any subscription (at least 5, at most 250)."""
        now = self.market.now_ms()
        soonest = min(
            (min(next_open(s.pending_open, s.interval), s.next_update_ms) for s in subscriptions.values()),
            default=now + 250,
        )
        return min(max(soonest - now, 5), 250)

    async def _disrupt(self, connection: ServerConnection, fault: Any) -> bool:
        """Apply a stream fault; True when the connection is gone."""
        if fault.kind == "ws_drop":
            connection.transport.abort()
            return True
        if fault.kind == "ws_stall":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "ws_shutdown":
            await connection.send(json.dumps({"e": "serverShutdown", "E": self.market.now_ms()}))
            await asyncio.sleep(0.5)
            await connection.close(1001, "server shutdown")
            return True
        elif fault.kind == "ws_malformed":
            await connection.send('{"stream": "btcusdt@kline_1m", "data": {"e": "kline", "k": ')
        return False

    @staticmethod
    def _wrap(name: str, event: dict, combined: bool) -> str:
        return json.dumps({"stream": name, "data": event} if combined else event, separators=(",", ":"))
