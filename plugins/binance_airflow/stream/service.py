"""The stream service: connections → writer → warehouse, healing and Asset events around them.

On start it creates the warehouse schema if needed and loads the streamed symbols into dim_symbol
(exchangeInfo), then runs: one ``StreamConnection`` per 1024 streams, the ``CandleWriter``, a heal after
every (re)connect and every ``heal_every_s`` seconds, and the Asset announcer. SIGTERM/SIGINT (or
``run_for_s``) stop it after the queued candles are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from binance_airflow.binance.hook import BinanceHook
from binance_airflow.etl import steps
from binance_airflow.stream import config as stream_config
from binance_airflow.stream.airflow_events import AssetAnnouncer
from binance_airflow.stream.connection import MAX_STREAMS, StreamConnection
from binance_airflow.stream.healer import Healer
from binance_airflow.stream.writer import RUN_ID, CandleWriter
from binance_airflow.warehouse.schema import create_warehouse
from binance_airflow.warehouse.tables import TABLES
from include import settings
from include.run_window import RunWindow
from include.transforms.stream_events import stream_name

log = logging.getLogger(__name__)


@dataclass
class ServiceSettings:
    """Tunables, from the environment (see the README's configuration table)."""

    heal_every_s: float = float(os.environ.get("BINANCE_STREAM_HEAL_EVERY", "60"))
    lookback_s: float = float(os.environ.get("BINANCE_STREAM_LOOKBACK", "3600"))
    grace_ms: int = int(os.environ.get("BINANCE_STREAM_GRACE_MS", "3000"))
    silence_s: float = float(os.environ.get("BINANCE_STREAM_SILENCE", "10"))
    max_age_s: float = float(os.environ.get("BINANCE_STREAM_MAX_CONNECTION_AGE", str(23.5 * 3600)))
    flush_ms: float = float(os.environ.get("BINANCE_STREAM_FLUSH_MS", "50"))
    airflow_conn_id: str = os.environ.get("BINANCE_STREAM_AIRFLOW_CONN", "airflow_api")


class StreamService:
    def __init__(self, options: ServiceSettings | None = None):
        self.options = options or ServiceSettings()
        self.config = stream_config.load()
        self.hook = BinanceHook(settings.BINANCE_CONN_ID)
        self.announcer = AssetAnnouncer(self.options.airflow_conn_id)
        self.writer = CandleWriter(self.options.flush_ms, on_written=self.announcer.written)
        self.healer = Healer(self.config, self.hook, self.options.lookback_s, self.options.grace_ms)
        self.connections: list[StreamConnection] = []
        self._next_heal = 0.0  # monotonic time of the next heal

    async def run(self, run_for_s: float | None = None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await loop.run_in_executor(None, self._prepare)
        url = stream_config.stream_url(self.hook.connection.extra_dejson)
        names = [stream_name(symbol, interval) for symbol, interval in self.config.pairs]
        self.connections = [self._connection(url, names, i) for i in range(0, len(names), MAX_STREAMS)]
        log.info(
            "streaming %d kline streams (%s) from %s over %d connections",
            len(names),
            ", ".join(self.config.intervals),
            url,
            len(self.connections),
        )
        tasks = [asyncio.create_task(c.run(stop)) for c in self.connections]
        writer = asyncio.create_task(self.writer.run(stop))
        upkeep = asyncio.create_task(self._upkeep(stop))
        if run_for_s is not None:
            loop.call_later(run_for_s, stop.set)
        await stop.wait()
        await asyncio.gather(*tasks, upkeep)
        await writer
        await loop.run_in_executor(None, self.announcer.maybe_post)
        log.info("stream service stopped: %s", self.describe())

    def _connection(self, url: str, names: list[str], first: int) -> StreamConnection:
        """The connection carrying ``names[first : first + 1024]``."""
        return StreamConnection(
            url,
            names[first : first + MAX_STREAMS],
            self.writer.put,
            self._connected,
            max_age_s=self.options.max_age_s,
            silence_s=self.options.silence_s,
            name=f"streams {first + 1}-{min(first + MAX_STREAMS, len(names))}",
        )

    def _prepare(self) -> None:
        """The warehouse schema, and the streamed symbols in dim_symbol (the facts reference them)."""
        create_warehouse()
        folder = Path(self.healer.folder)
        window = RunWindow(self.config.symbols, self.config.intervals[0], 0, 0, 0)
        steps.extract_exchange_info(window, folder, self.hook)
        steps.load_table("dim_symbol", steps.stage_table(TABLES["dim_symbol"], window, folder), RUN_ID)

    def _connected(self, after_loss: bool) -> None:
        """A connection is up. After a loss (or at start) heal once the candles that closed while none was are
        past the healer's grace: the stream carries only those that close from now on. A planned replacement
        overlapped its predecessor and missed nothing."""
        if after_loss:
            self._next_heal = min(self._next_heal, time.monotonic() + self.healer.grace_ms / 1000 + 0.5)

    async def _upkeep(self, stop: asyncio.Event) -> None:
        """Heals (after each (re)connect, and every ``heal_every_s``), Asset events, a log line a minute."""
        loop = asyncio.get_running_loop()
        next_report = time.monotonic()
        while not stop.is_set():
            if time.monotonic() >= self._next_heal:
                self._next_heal = time.monotonic() + self.options.heal_every_s
                await loop.run_in_executor(None, self.healer.heal)
            await loop.run_in_executor(None, self.announcer.maybe_post)
            if time.monotonic() >= next_report:
                log.info("stream service: %s", self.describe())
                next_report = time.monotonic() + 60
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)

    def describe(self) -> str:
        latencies = list(self.writer.latencies_ms)[-10_000:]
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
        return (
            f"{self.writer.written} candles written ({self.writer.rejected} rejected), close→commit "
            f"p50 {quantiles[49]:.0f} ms p99 {quantiles[98]:.0f} ms; {sum(c.connects for c in self.connections)} "
            f"connects, {sum(c.malformed for c in self.connections)} malformed frames; {self.healer.heals} heals "
            f"healed {self.healer.healed} candles over REST, {self.healer.outages} outages; "
            f"{self.announcer.posted} Asset events"
        )
