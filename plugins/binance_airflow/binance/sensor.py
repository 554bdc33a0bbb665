"""BinanceApiSensor: an HttpSensor on /api/v3/ping that goes through BinanceHook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.http.sensors.http import HttpSensor

from binance_airflow.binance.errors import BinanceBannedError, BinanceUnavailableError
from binance_airflow.binance.hook import BinanceHook
from binance_airflow.binance.triggers import BinancePingTrigger


class BinanceApiSensor(HttpSensor):
    """Waits until Binance answers ``/api/v3/ping``.

    The stock HttpSensor would send the connection's login/password (API key and secret) as HTTP basic
    auth; poking through BinanceHook never sends them and respects the weight budget. A 418 ban fails
    the sensor at once instead of poking on. With ``deferrable=True`` (Airflow's ``[operators]
    default_deferrable``) a failed first poke defers to ``BinancePingTrigger``: the wait holds no worker slot.
    """

    def __init__(self, *, binance_conn_id: str = BinanceHook.default_conn_name, **kwargs: Any):
        super().__init__(endpoint="/api/v3/ping", http_conn_id=binance_conn_id, **kwargs)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context):
            self.defer(
                trigger=BinancePingTrigger(self.http_conn_id, self.poke_interval),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout),
            )
        return None

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        """Back from the triggerer: Binance answered, or banned this IP (which fails at once)."""
        if event and event.get("status") == "banned":
            raise BinanceBannedError("/api/v3/ping", int(event["retry_after_s"]))
        self.log.info("Binance answers /api/v3/ping")

    def poke(self, context: Any) -> bool:
        try:
            return BinanceHook(self.http_conn_id, max_retries=0).ping()
        except BinanceUnavailableError as err:
            self.log.info("Binance not reachable yet: %s", err)
            return False
