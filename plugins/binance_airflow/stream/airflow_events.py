"""New candles announced to Airflow as Asset events (at most one a minute), so downstream DAGs scheduled on
fact_kline's Asset see fresh data without a DAG run per candle.

``POST /api/v2/assets/events`` on the api-server named by the http connection ``airflow_api`` (host = its
base URL, login/password = an Airflow user allowed to create Asset events; a token comes from
``/auth/token``). Without that connection nothing is posted (said once in the log).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import mask_secret

from binance_airflow.warehouse.tables import TABLES

log = logging.getLogger(__name__)


class AssetAnnouncer:
    def __init__(self, conn_id: str = "airflow_api", every_s: float = 60):
        self.conn_id, self.every_s = conn_id, every_s
        self.pending = self.posted = 0
        self._last = 0.0
        self._session = requests.Session()
        self._base: str | None = None
        self._asset_id: int | None = None
        self._disabled = False

    def written(self, candles: int) -> None:
        self.pending += candles

    def maybe_post(self) -> None:
        """Post one event for the candles written since the last one, if a minute has passed."""
        if self._disabled or not self.pending or time.monotonic() - self._last < self.every_s:
            return
        try:
            self._post({"source": "binance_stream", "candles": self.pending})
        except (requests.RequestException, KeyError, ValueError) as err:
            log.warning("could not post the fact_kline Asset event to %s: %s (will retry)", self._base, err)
            return
        self._last, self.pending, self.posted = time.monotonic(), 0, self.posted + 1

    def _post(self, extra: dict[str, Any]) -> None:
        if self._base is None and not self._login():
            return
        if self._asset_id is None:
            name = TABLES["fact_kline"].asset.name
            found = self._api("GET", "/api/v2/assets", params={"name_pattern": name, "limit": 100})["assets"]
            self._asset_id = next(a["id"] for a in found if a["name"] == name)
        self._api("POST", "/api/v2/assets/events", json={"asset_id": self._asset_id, "extra": extra})
        log.info("posted a %s Asset event (%s)", TABLES["fact_kline"].asset.name, extra)

    def _login(self) -> bool:
        try:
            conn = BaseHook.get_connection(self.conn_id)
        except AirflowNotFoundException:
            log.info("no %s connection: new candles are not announced to Airflow as Asset events", self.conn_id)
            self._disabled = True
            return False
        if conn.password:
            mask_secret(conn.password)
        self._base = (conn.host or "").rstrip("/")
        token = self._session.post(
            f"{self._base}/auth/token", json={"username": conn.login, "password": conn.password}, timeout=10
        )
        token.raise_for_status()
        self._session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        return True

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(method, f"{self._base}{path}", timeout=10, **kwargs)
        if response.status_code == 401:  # the token expired: sign in again once
            self._login()
            response = self._session.request(method, f"{self._base}{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()
