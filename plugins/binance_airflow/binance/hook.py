"""BinanceHook: public and SIGNED GETs against Binance spot REST, within its weight limits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.exceptions import AirflowNotFoundException
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.lineage import get_hook_lineage_collector
from airflow.sdk.log import mask_secret

from binance_airflow.binance.errors import (
    BinanceAnswerRefused,
    BinanceAPIError,
    BinanceBannedError,
    BinanceRequestRejected,
)
from binance_airflow.binance.signing import encode_query, signed_query
from binance_airflow.binance.transport import RetryPolicy, Transient, bounded_wait, get, retry_after
from binance_airflow.binance.weight_budget import WeightBudget, counter_for
from include import settings
from include.intervals import next_open, to_ms, validate_interval

KLINES_PAGE = 1000
ENDPOINT_SCHEME = "binance"  # lineage Assets of the endpoints read: binance://<connection id>/api/v3/klines
OWN_EXTRAS = ("archive_url", "stream_url")  # connection extras that configure this package, not HTTP headers
Kline = list[Any]


class BinanceHook(HttpHook):
    """Talks to Binance spot REST through an Airflow connection of type ``binance`` (its form labels the fields;
    registered by the ``binance-airflow`` distribution, see ``provider_info``) or ``http``: both are read alike.

    The connection's host is the base URL (default ``https://api.binance.com``), its login the API
    key and its password the API secret (both optional: public endpoints need neither). The secret
    only ever enters the HMAC; it is masked in task logs and never logged, raised or put in a URL.

    Every request first reserves its weight in a per-minute budget (see ``WeightBudget``); 429 waits
    ``Retry-After`` and retries, 418 stops at once; 5xx, timeouts, resets before or after the headers,
    truncated or garbled bodies retry with exponential backoff up to ``max_retries`` times (see
    ``transport``). ``-1021`` on a signed call resyncs the clock with ``/api/v3/time`` and retries once.
    Archive files are not the REST API: see ``archives``.
    """

    conn_name_attr = "binance_conn_id"
    default_conn_name = "binance_default"
    conn_type = "binance"
    hook_name = "Binance"
    default_host = "https://api.binance.com"

    def __init__(
        self,
        binance_conn_id: str = default_conn_name,
        *,
        weight_limit: int = 6000,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        timeout: tuple[float, float] = (10.0, 30.0),
        recv_window_ms: int = 5000,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(method="GET", http_conn_id=binance_conn_id)
        counter = counter_for(settings.WEIGHT_REDIS_URL, self._host)
        self.budget = WeightBudget(weight_limit, sleep=sleep, counter=counter)
        self.retry = RetryPolicy(max_retries, backoff_seconds, max_backoff_seconds, sleep, self.log)
        self.timeout = timeout
        self.recv_window_ms = recv_window_ms
        self._clock_offset_ms = 0

    def _extract_auth(self, connection: Any) -> None:
        """Never send the key pair as HTTP basic auth: the key travels in ``X-MBX-APIKEY`` only."""
        return None

    @classmethod
    def base_url_of(cls, conn: Any) -> str:
        """The REST root a connection names, as HttpHook reads it: its host (``default_host`` when empty), with
        ``http://`` unless the host names a scheme, and its port."""
        host = conn.host or cls.default_host
        url = host if "://" in host else f"{conn.schema or 'http'}://{host}"
        return f"{url}:{conn.port}" if conn.port else url

    @cached_property
    def connection(self) -> Any:
        """The Airflow connection (read once); its password is masked in task logs."""
        try:
            conn = self.get_connection(self.http_conn_id)
        except AirflowNotFoundException:
            raise AirflowNotFoundException(
                f"Airflow connection {self.http_conn_id!r} is not defined; create it, e.g. "
                f"`airflow connections add {self.http_conn_id} --conn-type binance --conn-host {self.default_host}` "
                "(login = API key, password = API secret for signed endpoints)"
            ) from None
        if conn.password:
            mask_secret(conn.password)
        return conn

    @cached_property
    def session(self) -> requests.Session:
        self.connection  # noqa: B018 - fails early with a clear message when the connection is missing
        session = self.get_conn()
        for option in OWN_EXTRAS:  # HttpHook turns unknown extras into headers; these are settings
            session.headers.pop(option, None)
        return session

    @cached_property
    def request_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds; the http connection's usual ``timeout`` extra overrides the read part."""
        read = self.connection.extra_dejson.get("timeout")
        return (self.timeout[0], float(read)) if read else self.timeout

    @property
    def has_credentials(self) -> bool:
        return bool(self.connection.login and self.connection.password)

    # -- requests -----------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None, *, weight: int = 1, signed: bool = False) -> Any:
        """GET ``path`` and return its decoded JSON, retrying what is worth retrying."""
        params = dict(params or {})
        resynced = False
        get_hook_lineage_collector().add_input_asset(context=self, uri=f"{ENDPOINT_SCHEME}://{self.http_conn_id}{path}")
        while True:
            try:
                return self.retry.run(path, lambda: self._get_once(path, params, signed, weight))
            except BinanceAPIError as err:
                if not (signed and err.code == -1021 and not resynced):
                    raise
                resynced = True
                self._resync_clock()

    def _host(self) -> str:
        """The exchange's host and port: the scope of its weight limit."""
        return urlsplit(self.url_from_endpoint("")).netloc

    def _get_once(self, path: str, params: dict[str, Any], signed: bool, weight: int) -> Any:
        session = self.session
        self.budget.reserve(weight)
        headers = {}
        if signed:
            if not self.has_credentials:
                raise BinanceAPIError(
                    path, 0, None, f"signed endpoint needs an API key and secret on {self.http_conn_id!r}"
                )
            headers["X-MBX-APIKEY"] = self.connection.login
            stamped = {**params, "recvWindow": self.recv_window_ms, "timestamp": self._now_ms()}
            query = signed_query(stamped, self.connection.password)
        else:
            query = encode_query(params)
        url = self.url_from_endpoint(path) + (f"?{query}" if query else "")
        self.log.debug("GET %s %s", path, encode_query(params))
        response = get(session, url, headers=headers, timeout=self.request_timeout)
        self.budget.observe(response.headers)
        return self._decode(path, response)

    def _decode(self, path: str, response: requests.Response) -> Any:
        status = response.status_code
        if status == 418:
            raise BinanceBannedError(path, retry_after(response) or 120)
        if status == 429:
            raise Transient("HTTP 429 rate limited", wait=bounded_wait(response, path, default=60))
        if status >= 500:
            raise Transient(f"HTTP {status}")
        try:
            body = response.json()
        except ValueError:
            if status >= 400:
                raise BinanceAPIError(path, status, None, response.reason or "no error body") from None
            kind = response.headers.get("Content-Type", "unknown type")
            raise Transient(f"HTTP {status} with an undecodable body ({kind}, {len(response.content)} bytes)") from None
        if status >= 400:
            code, msg = (body.get("code"), body.get("msg", "")) if isinstance(body, dict) else (None, str(body))
            raise (BinanceRequestRejected if status == 400 else BinanceAPIError)(path, status, code, msg)
        return body

    def _now_ms(self) -> int:
        return int(time.time() * 1000) + self._clock_offset_ms

    def _resync_clock(self) -> None:
        before = time.time() * 1000
        server = self.get("/api/v3/time")["serverTime"]
        after = time.time() * 1000
        self._clock_offset_ms = int(server - (before + after) / 2)
        self.log.warning("Binance rejected our timestamp (-1021); clock offset is now %d ms", self._clock_offset_ms)

    # -- endpoints ----------------------------------------------------------------------------

    def ping(self) -> bool:
        return self.get("/api/v3/ping") == {}

    def server_time_ms(self) -> int:
        return int(self.get("/api/v3/time")["serverTime"])

    def exchange_info(self, symbols: list[str] | None = None) -> dict[str, Any]:
        """exchangeInfo (for ``symbols`` or all); also adopts its REQUEST_WEIGHT per-minute limit."""
        params = {"symbols": _json_list(symbols)} if symbols else {}
        info = self.get("/api/v3/exchangeInfo", params, weight=20)
        self.adopt_rate_limits(info)
        return info

    def adopt_rate_limits(self, info: dict[str, Any]) -> None:
        """Take the REQUEST_WEIGHT per-minute limit that an exchangeInfo answer states; one below
        ``settings.MIN_WEIGHT_LIMIT`` is refused (its ceiling would not hold an ordinary request)."""
        for limit in info.get("rateLimits", []):
            if (limit.get("rateLimitType"), limit.get("interval"), limit.get("intervalNum")) == (
                "REQUEST_WEIGHT",
                "MINUTE",
                1,
            ):
                stated = int(limit["limit"])
                if stated < settings.MIN_WEIGHT_LIMIT:
                    raise BinanceAnswerRefused(
                        f"exchangeInfo states a REQUEST_WEIGHT limit of {stated}/min, below the "
                        f"{settings.MIN_WEIGHT_LIMIT}/min this client accepts (BINANCE_ETL_MIN_WEIGHT_LIMIT; Binance's "
                        "own is 6000): refusing to budget with it"
                    )
                self.budget.limit = stated

    def ticker_24hr(self, symbols: list[str] | None = None) -> list[dict[str, Any]]:
        """24-hour rolling statistics, one call for all ``symbols`` (or every symbol)."""
        if not symbols:
            return self.get("/api/v3/ticker/24hr", weight=80)
        weight = 2 if len(symbols) <= 20 else 40 if len(symbols) <= 100 else 80
        return self.get("/api/v3/ticker/24hr", {"symbols": _json_list(symbols)}, weight=weight)

    def account(self) -> dict[str, Any]:
        """SIGNED account information (balances)."""
        return self.get("/api/v3/account", signed=True, weight=20)

    def first_kline(self, symbol: str, interval: str) -> Kline | None:
        """The oldest candle Binance has for ``symbol`` (from its listing), or None."""
        return self._one_kline(symbol, interval, startTime=0)

    def has_klines(self, symbol: str, interval: str, start_ms: int, end_ms: int) -> bool:
        """Whether Binance has a candle of ``symbol`` opening in ``[start_ms, end_ms)`` (one request, weight 2)."""
        return self._one_kline(symbol, interval, startTime=start_ms, endTime=end_ms - 1) is not None

    def last_kline(self, symbol: str, interval: str) -> Kline | None:
        """The newest candle of ``symbol`` (the still-open one while it trades), or None."""
        return self._one_kline(symbol, interval)

    def _one_kline(self, symbol: str, interval: str, **times: int) -> Kline | None:
        params = {"symbol": symbol, "interval": validate_interval(interval), **times, "limit": 1}
        page = self.get("/api/v3/klines", params, weight=2)
        if not isinstance(page, list) or not all(_is_kline(row) for row in page):
            raise _protocol_error(symbol, page)
        return page[0] if page else None

    def iter_kline_pages(
        self, symbol: str, interval: str, start: datetime | int, end: datetime | int
    ) -> Iterator[list[Kline]]:
        """Pages of klines whose open time lies in [start, end), in order, without gaps or duplicates.

        Pages by 1000 with ``startTime`` = last open time + 1 ms, so irregular grids and exchange
        outages are followed rather than assumed away. A short page ends the range only when it
        reaches ``end``; otherwise one more request confirms there is nothing further.
        """
        validate_interval(interval)
        start_ms, end_ms = to_ms(start), to_ms(end)
        if start_ms >= end_ms:
            raise ValueError(f"empty kline range for {symbol}: start {start_ms} is not before end {end_ms}")
        cursor, pages, total = start_ms, 0, 0
        while cursor < end_ms:
            params = {
                "symbol": symbol,
                "interval": interval,
                "startTime": cursor,
                "endTime": end_ms - 1,
                "limit": KLINES_PAGE,
            }
            page = self.get("/api/v3/klines", params, weight=2)
            if not isinstance(page, list) or not all(_is_kline(row) for row in page):
                raise _protocol_error(symbol, page)
            rows = sorted((row for row in page if cursor <= row[0] < end_ms), key=lambda row: row[0])
            rows = [row for i, row in enumerate(rows) if i == 0 or row[0] != rows[i - 1][0]]
            if not rows:
                break
            pages, total = pages + 1, total + len(rows)
            yield rows
            if pages % 25 == 0:
                self.log.info("%s %s: %d candles in %d pages so far", symbol, interval, total, pages)
            last_open = rows[-1][0]
            cursor = last_open + 1
            if len(page) < KLINES_PAGE and next_open(last_open, interval) >= end_ms:
                break
        self.log.info("%s %s: fetched %d candles in %d pages", symbol, interval, total, pages)

    def iter_klines(self, symbol: str, interval: str, start: datetime | int, end: datetime | int) -> Iterator[Kline]:
        """Klines one by one (see ``iter_kline_pages``)."""
        for page in self.iter_kline_pages(symbol, interval, start, end):
            yield from page


def _json_list(items: list[str]) -> str:
    return json.dumps(items, separators=(",", ":"))


def _is_kline(row: Any) -> bool:
    return isinstance(row, list) and len(row) >= 11 and isinstance(row[0], int)


def _protocol_error(symbol: str, page: Any) -> BinanceAPIError:
    sample = repr(page)[:200]
    return BinanceAPIError("/api/v3/klines", 200, None, f"unexpected klines payload for {symbol}: {sample}")
