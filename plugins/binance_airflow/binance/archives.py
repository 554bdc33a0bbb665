"""Kline archive files (data.binance.vision layout): download, checksum check, the kline CSV inside.

Archives cost no API weight. Which host serves them is a setting of the ``binance_default`` connection
(extra ``archive_url``; ``""`` turns archives off); without it they are used only when the connection
targets Binance itself, from data.binance.vision.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from airflow.sdk.lineage import get_hook_lineage_collector

from binance_airflow.binance.errors import BinanceAPIError
from binance_airflow.binance.transport import RetryPolicy, Transient, bounded_wait, get
from include import settings
from include.transforms import archive

if TYPE_CHECKING:
    from binance_airflow.binance.hook import BinanceHook

ARCHIVE_HOST = "https://data.binance.vision"
ARCHIVE_SCHEME = "binance-archive"  # lineage Assets of the folders read: binance-archive://<connection id>/data/…
log = logging.getLogger(__name__)


def archive_root(host: str, extras: dict[str, Any]) -> str | None:
    """The archive root for a connection with ``host`` and ``extras``, or None to use REST only."""
    if extras.get("archive_url") is not None:  # a connection form's empty field is None: the default
        return str(extras["archive_url"]).rstrip("/") or None
    hostname = urlsplit(host if "//" in host else f"https://{host}").hostname or ""
    return ARCHIVE_HOST if hostname == "binance.com" or hostname.endswith(".binance.com") else None


def for_hook(hook: BinanceHook) -> ArchiveClient | None:
    """The archive client for the hook's connection (same timeout and retries), or None for REST only."""
    conn = hook.connection
    root = archive_root(conn.host or hook.default_host, conn.extra_dejson)
    return None if root is None else ArchiveClient(root, hook.request_timeout, hook.retry, hook.http_conn_id)


class ArchiveClient:
    """Downloads one archive file at a time, retrying transport failures like the REST hook does."""

    def __init__(
        self, root_url: str, timeout: tuple[float, float], retry: RetryPolicy | None = None, conn_id: str = ""
    ):
        self.root_url = root_url
        self.conn_id = conn_id  # the connection it serves, for lineage
        self.timeout = timeout
        self.retry = retry or RetryPolicy(log=log)
        self.session = requests.Session()

    def klines_csv(self, symbol: str, interval: str, period: str, label: str) -> bytes | None:
        """The kline CSV of one file (``period`` "monthly"/"daily", ``label`` its date), checksum-verified.

        None when the file is not published (403/404); ``ArchiveIntegrityError`` when it does not match
        its ``.CHECKSUM``.
        """
        path = archive.path(symbol, interval, period, label)
        url = self.root_url + path
        name = url.rsplit("/", 1)[-1]
        if self.conn_id:
            folder = f"{ARCHIVE_SCHEME}://{self.conn_id}{path.rsplit('/', 1)[0]}"
            get_hook_lineage_collector().add_input_asset(context=self, uri=folder)
        content = self.retry.run(name, lambda: self._download(url))
        if content is None:
            return None
        checksum = self.retry.run(name + ".CHECKSUM", lambda: self._download(url + ".CHECKSUM"))
        if checksum is None:
            raise archive.ArchiveIntegrityError(f"{name} is published without its .CHECKSUM file")
        archive.verify(content, checksum.decode("ascii", "replace"), name)
        return archive.csv_member(content, name)

    def _download(self, url: str) -> bytes | None:
        response = get(self.session, url, settings.MAX_DOWNLOAD_BYTES, timeout=self.timeout)
        if response.status_code in (403, 404):
            return None
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(f"HTTP {response.status_code}", wait=bounded_wait(response, url))
        if response.status_code != 200:
            raise BinanceAPIError(url, response.status_code, None, response.reason or "archive download failed")
        return response.content
