"""OpenLineage datasets of what a task read from Binance.

The hook reports each REST endpoint it called, the archive client each archive folder it downloaded from, to
Airflow's hook lineage collector (a no-op unless a lineage reader such as the OpenLineage provider is configured).
Their Assets name the connection, not a URL: ``binance://binance_default/api/v3/klines`` and
``binance-archive://binance_default/data/spot/monthly/klines/BTCUSDT/1h``. ``to_openlineage`` (registered for both
schemes in ``provider_info``) names them by the connection's URLs, as the OpenLineage naming spec names HTTP
datasets: the REST root or the archive root as namespace (``https://api.binance.com``,
``https://data.binance.vision``), the path as name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook

from binance_airflow.binance.archives import ARCHIVE_SCHEME, archive_root
from binance_airflow.binance.hook import ENDPOINT_SCHEME, BinanceHook


def to_openlineage(asset: Any, lineage_context: Any) -> Any:
    """The OpenLineage dataset of a ``binance`` or ``binance-archive`` Asset (its connection read when the event
    is built, in the task's process)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    uri = urlsplit(asset.uri)
    conn = BaseHook.get_connection(uri.netloc)
    root = BinanceHook.base_url_of(conn)
    if uri.scheme == ARCHIVE_SCHEME:
        root = archive_root(conn.host or BinanceHook.default_host, conn.extra_dejson) or root
    return Dataset(namespace=root.rstrip("/"), name=uri.path)


def sanitize_uri(uri: Any) -> Any:
    """Airflow's URI check for both schemes: a connection id and a path."""
    if not uri.netloc or not uri.path.startswith("/"):
        raise ValueError(f"{uri.geturl()}: expected {ENDPOINT_SCHEME}://<connection id>/<path>")
    return uri
