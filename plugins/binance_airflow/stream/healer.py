"""Holes in the streamed series healed over REST: after every (re)connect and every ``every_s`` seconds.

The streams carry nothing from while a client was away, so each heal reconciles the recent stretch of
every streamed series with Binance, exactly as a batch run's ``reconcile_fact_kline`` does (the same code:
missing candles Binance serves are loaded, confirmed outages are recorded in kline_gap). A stretch runs
from where the previous heal ended (at start: ``lookback_s`` before the newest stored candle, or before now
for a new series) to the candles closed ``grace_ms`` ago, so candles still in flight on the stream are not
fetched twice. A disconnect of any length therefore leaves no hole, and the upsert leaves no duplicate.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from binance_airflow.binance.hook import BinanceHook
from binance_airflow.etl import reconcile
from binance_airflow.stream.config import StreamConfig
from binance_airflow.stream.writer import RUN_ID
from binance_airflow.warehouse.connection import transaction, warehouse_hook
from binance_airflow.warehouse.loads import upsert_rows
from binance_airflow.warehouse.tables import TABLES
from include.intervals import closed_bound
from include.run_window import RunWindow
from include.transforms import dim_date

log = logging.getLogger(__name__)


class Healer:
    def __init__(self, config: StreamConfig, hook: BinanceHook, lookback_s: float = 3600, grace_ms: int = 3000):
        self.config, self.hook, self.lookback_s, self.grace_ms = config, hook, lookback_s, grace_ms
        self.folder = Path(tempfile.mkdtemp(prefix="binance-stream-heal-"))
        self.healed = self.outages = self.heals = 0
        self._since: dict[str, int] = {}  # interval → open time the next heal starts from
        self._lock = threading.Lock()  # one heal at a time

    def heal(self) -> dict[str, Any]:
        """Reconcile every interval's recent stretch with Binance; what was healed, outages, anything missing."""
        with self._lock:
            now_ms = int(time.time() * 1000)
            summary: dict[str, Any] = {"healed": {}, "outages": [], "unexplained": []}
            for interval in self.config.intervals:
                start = self._since.get(interval) or self._start(interval, now_ms)
                end = closed_bound(now_ms - self.grace_ms, interval)
                if end <= start:
                    continue
                window = RunWindow(self.config.symbols, interval, start, end, now_ms)
                with transaction(warehouse_hook()) as cur:  # the hours the healed candles reference
                    upsert_rows(cur, TABLES["dim_date"], dim_date.hours(start, end))
                found = reconcile.reconcile(window, [], self.folder, RUN_ID, self.hook, now_ms)
                # the next heal starts here, or at the first candle still missing, to ask for it again
                self._since[interval] = min([end, *(hole["first_missing_ms"] for hole in found["unexplained"])])
                for symbol, count in found["healed"].items():
                    summary["healed"][f"{symbol} {interval}"] = count
                summary["outages"] += found["outages"]
                summary["unexplained"] += found["unexplained"]
            self.heals += 1
            self.healed += sum(summary["healed"].values())
            self.outages += len(summary["outages"])
            if summary["healed"]:
                log.info(
                    "stream heal %d: loaded over REST what the streams did not carry: %s", self.heals, summary["healed"]
                )
            if summary["unexplained"]:
                log.warning("stream heal %d: %s (asked again at the next heal)", self.heals, reconcile.failure(summary))
            return summary

    def _start(self, interval: str, now_ms: int) -> int:
        """Where this process's first heal starts: ``lookback_s`` before the oldest of the series' newest stored
        candles, however old (a previous run may have stopped before healing its last seconds); ``lookback_s``
        ago for a series with nothing stored yet."""
        lookback = int(self.lookback_s * 1000)
        placeholders = ", ".join(["%s"] * len(self.config.symbols))
        rows = warehouse_hook().get_records(
            "SELECT symbol, MAX(open_time_ms) FROM fact_kline WHERE `interval` = %s AND symbol IN "
            f"({placeholders}) GROUP BY symbol",
            parameters=[interval, *self.config.symbols],
        )
        newest = {symbol: int(open_ms) for symbol, open_ms in rows}
        return min(newest.get(symbol, now_ms) for symbol in self.config.symbols) - lookback
