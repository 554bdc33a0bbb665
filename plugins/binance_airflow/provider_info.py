"""What the ``binance-airflow`` distribution tells Airflow through its ``apache_airflow_provider`` entry point: the
``binance`` connection type, with labelled fields for the key pair, the REST root, the archive root and the stream
URL; and the asset URI schemes whose Assets lineage reports (see ``binance.lineage`` and ``warehouse.lineage``).
Airflow reads it without importing the hook (the API server never imports hooks).

``BinanceHook`` reads ``binance`` and ``http`` connections alike: the same host, login, password and extras."""

from __future__ import annotations

from typing import Any

DISTRIBUTION = "binance-airflow"
CONNECTION_TYPE = "binance"


def _text_field(label: str, description: str) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": ["string", "null"]}}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": DISTRIBUTION,
        "name": "Binance",
        "description": "Binance spot market and account data into a MySQL star schema: hook, sensor, loads.",
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": "binance_airflow.binance.hook.BinanceHook",
                "hook-name": "Binance",
                "conn-fields": {
                    "archive_url": _text_field(
                        "Archive root",
                        "kline archive files; empty: https://data.binance.vision when the REST host is Binance's",
                    ),
                    "stream_url": _text_field(
                        "Stream URL", "WebSocket root of the kline streams (wss://stream.binance.com:9443)"
                    ),
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "REST base URL", "login": "API key", "password": "API secret"},
                    "placeholders": {
                        "host": "https://api.binance.com",
                        "login": "only for signed endpoints (account data)",
                        "password": "only for signed endpoints; never logged",
                    },
                },
            }
        ],
        # Lineage: the Assets the hook, the archive client and the loads report, as OpenLineage datasets
        "asset-uris": [
            {
                "schemes": ["binance", "binance-archive"],
                "handler": "binance_airflow.binance.lineage.sanitize_uri",
                "to_openlineage_converter": "binance_airflow.binance.lineage.to_openlineage",
            },
            {
                "schemes": ["mysql-warehouse"],
                "handler": "binance_airflow.warehouse.lineage.sanitize_uri",
                "to_openlineage_converter": "binance_airflow.warehouse.lineage.to_openlineage",
            },
        ],
    }
