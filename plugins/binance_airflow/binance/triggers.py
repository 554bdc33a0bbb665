"""Deferrable waits: Binance's ``/api/v3/ping`` polled in the triggerer, so a waiting sensor holds no worker slot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from binance_airflow.binance.hook import BinanceHook


class BinancePingTrigger(BaseTrigger):
    """Fires ``{"status": "up"}`` once ``/api/v3/ping`` answers 200, ``{"status": "banned", "retry_after_s"}`` on a
    418; anything else (5xx, a refused or reset connection, a timeout) is polled again every ``poke_interval``.

    Like the hook it never sends the key pair (a ping needs none) and reads only the connection's host. A ping
    weighs 1 and is not counted in the weight budget, which is a worker's.
    """

    def __init__(self, binance_conn_id: str, poke_interval: float):
        super().__init__()
        self.binance_conn_id, self.poke_interval = binance_conn_id, poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"binance_conn_id": self.binance_conn_id, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        url = BinanceHook.base_url_of(await BaseHook.aget_connection(self.binance_conn_id)) + "/api/v3/ping"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while True:
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            yield TriggerEvent({"status": "up"})
                            return
                        if response.status == 418:
                            retry_after = response.headers.get("Retry-After", "")
                            yield TriggerEvent({"status": "banned", "retry_after_s": int(retry_after or 120)})
                            return
                        reason = f"HTTP {response.status}"
                except (aiohttp.ClientError, TimeoutError) as err:
                    reason = type(err).__name__
                self.log.info("Binance not reachable yet (%s); next ping in %.0f s", reason, self.poke_interval)
                await asyncio.sleep(self.poke_interval)
