"""Mounts the warehouse dashboard in the Airflow api-server and adds it to the UI's navigation."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from binance_dashboard.app import app

URL_PREFIX = "/binance-dashboard"


class BinanceDashboardPlugin(AirflowPlugin):
    name = "binance_dashboard"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "Binance warehouse dashboard"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {"name": "Binance dashboard", "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": "binance-dashboard"}
    ]
