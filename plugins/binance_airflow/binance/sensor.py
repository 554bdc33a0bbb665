"""BinanceApiSensor: an HttpSensor on /api/v3/ping that goes through BinanceHook."""

from __future__ import annotations

from typing import Any

from airflow.providers.http.sensors.http import HttpSensor

from binance_airflow.binance.errors import BinanceUnavailableError
from binance_airflow.binance.hook import BinanceHook


class BinanceApiSensor(HttpSensor):
    """Waits until Binance answers ``/api/v3/ping``.

    The stock HttpSensor would send the connection's login/password (API key and secret) as HTTP basic
    auth; poking through BinanceHook never sends them and respects the weight budget. A 418 ban fails
    the sensor at once instead of poking on.
    """

    def __init__(self, *, binance_conn_id: str = BinanceHook.default_conn_name, **kwargs: Any):
        super().__init__(endpoint="/api/v3/ping", http_conn_id=binance_conn_id, **kwargs)

    def poke(self, context: Any) -> bool:
        try:
            return BinanceHook(self.http_conn_id, max_retries=0).ping()
        except BinanceUnavailableError as err:
            self.log.info("Binance not reachable yet: %s", err)
            return False
