"""Closed candles from the streams into fact_kline in small batches: the batch path's validation, key and upsert.

Candles queue up as they arrive; every ``flush_ms`` (or ``max_batch`` candles) the queue is validated
(``klines.transform_klines``, ``source = binance_ws``), and upserted with the dim_date hours it needs in one
transaction over a connection kept open. A failed write keeps the batch and retries with backoff, so a
warehouse outage delays candles and loses none. Each candle's latency, from its close to the commit, is
kept for the log (and the benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import MySQLdb

from binance_airflow.warehouse.connection import warehouse_hook
from binance_airflow.warehouse.loads import record_rejects, upsert_rows
from binance_airflow.warehouse.tables import TABLES
from include.transforms import dim_date, klines
from include.transforms.stream_events import SOURCE, ClosedCandle

log = logging.getLogger(__name__)
RUN_ID = "binance_stream"  # how the stream's rejects and heals are tagged in etl_reject / etl_run_log


class CandleWriter:
    """Batches ``put`` candles into the warehouse; ``latencies_ms`` holds close → commit per candle written."""

    def __init__(self, flush_ms: float = 100, max_batch: int = 5000, on_written: Callable[[int], None] | None = None):
        self.flush_ms, self.max_batch, self.on_written = flush_ms, max_batch, on_written
        self.queue: asyncio.Queue[ClosedCandle] = asyncio.Queue()
        self.latencies_ms: deque[float] = deque(maxlen=1_000_000)
        self.written = self.rejected = 0
        self._conn: Any = None
        self._hours: set[int] = set()  # dim_date keys already written by this process

    def put(self, candle: ClosedCandle) -> None:
        self.queue.put_nowait(candle)

    async def run(self, stop: asyncio.Event) -> None:
        """Write batches until ``stop`` is set and the queue is empty."""
        loop = asyncio.get_running_loop()
        failures = 0
        batch: list[ClosedCandle] = []
        while not (stop.is_set() and self.queue.empty() and not batch):
            if not batch:
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), 0.5))
                except TimeoutError:
                    continue
                deadline = loop.time() + self.flush_ms / 1000
                while len(batch) < self.max_batch and (left := deadline - loop.time()) > 0:
                    try:
                        batch.append(await asyncio.wait_for(self.queue.get(), left))
                    except TimeoutError:
                        break
            try:
                await loop.run_in_executor(None, self._write, batch)
            except MySQLdb.Error as err:
                failures += 1
                self._close()
                wait = min(30.0, 2.0 ** (failures - 1))
                log.warning(
                    "stream writer: %d candles not written (%s); retry %d in %.0f s", len(batch), err, failures, wait
                )
                await asyncio.sleep(wait)
                continue
            failures, batch = 0, []
        self._close()

    def _write(self, batch: list[ClosedCandle]) -> None:
        now_ms = int(time.time() * 1000)
        rows, rejects = [], []
        groups: dict[tuple[str, str], list[list[Any]]] = {}
        for candle in batch:
            groups.setdefault((candle.symbol, candle.interval), []).append(candle.kline)
        for (symbol, interval), arrays in groups.items():
            result = klines.transform_klines(arrays, symbol, interval, now_ms, SOURCE)
            rows += result.rows
            rejects += result.rejects
        opens = [row[3] for row in rows]
        hours = sorted({o - o % 3_600_000 for o in opens} - self._hours)
        conn = self._connection()
        try:
            cur = conn.cursor()
            upsert_rows(cur, TABLES["dim_date"], [r for h in hours for r in dim_date.hours(h, h + 1)])
            upsert_rows(cur, TABLES["fact_kline"], rows)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        committed = time.time() * 1000
        self._hours.update(hours)
        self.latencies_ms.extend(committed - (int(candle.kline[6]) + 1) for candle in batch)
        self.written += len(rows)
        if rejects:
            self.rejected += len(rejects)
            record_rejects(warehouse_hook(), RUN_ID, "fact_kline", rejects, batch="stream", replace=False)
            log.warning(
                "stream writer: %d candles rejected (etl_reject, batch 'stream'): %s", len(rejects), rejects[0][3]
            )
        if self.on_written:
            self.on_written(len(rows))

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = warehouse_hook().get_conn()
            self._conn.autocommit(False)
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(MySQLdb.Error):
                self._conn.close()
            self._conn = None
