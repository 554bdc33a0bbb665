"""A threaded HTTP server on 127.0.0.1 that answers Binance spot REST paths from a ``Market``.

Besides ``/api/v3/*`` it has a control surface for tests under ``/_sim/`` (never charged weight):
``POST /_sim/faults`` queues a fault, ``DELETE /_sim/faults`` clears them, ``POST /_sim/config`` sets
``latency_ms``, ``clock_skew_ms``, ``weight_limit``, ``ws_max_connection_s`` and two hostile
answers (``stated_weight_limit``: the limit exchangeInfo states; ``extra_listed``: names it lists, never
serves), ``GET /_sim/stats`` counts
requests per path (and stream connections and closed candles sent) and ``DELETE /_sim/stats`` zeroes them;
it also has the weight accepted in each calendar minute (``weight_by_minute``, never zeroed). Kline
archives are served under ``/data/spot/`` in the data.binance.vision layout (see ``archives.py``); the
WebSocket kline streams on a port of their own (``streams.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from include.binance_sim import payloads
from include.binance_sim.archives import ArchiveStore
from include.binance_sim.faults import Fault, FaultQueue
from include.binance_sim.limits import WeightLimiter
from include.binance_sim.market import Market
from include.binance_sim.streams import StreamServer
from include.intervals import INTERVALS


class ApiError(Exception):
    """A Binance error answer: HTTP status plus ``{"code", "msg"}``."""

    def __init__(self, status: int, code: int, msg: str):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _mandatory(name: str) -> ApiError:
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _invalid(name: str) -> ApiError:
    return ApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def _timestamp(params: dict[str, str], name: str) -> int | None:
    """A ms or µs timestamp parameter, normalised to ms (16 digits are µs)."""
    if name not in params:
        return None
    raw = params[name]
    if not raw.isdigit():
        raise _invalid(name)
    value = int(raw)
    return value // 1000 if value >= 10**14 else value


def _symbol_list(params: dict[str, str]) -> list[str] | None:
    """``symbol`` or the JSON array ``symbols``; None when neither is given."""
    if "symbol" in params and "symbols" in params:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if "symbol" in params:
        return [params["symbol"]]
    if "symbols" in params:
        try:
            symbols = json.loads(params["symbols"])
        except ValueError:
            raise _invalid("symbols") from None
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols) or not symbols:
            raise _invalid("symbols")
        if len(set(symbols)) != len(symbols):
            raise ApiError(400, -1151, "Symbol is present multiple times in the list.")
        return symbols
    return None


class _Raw:
    """A body already rendered as JSON bytes (klines are rendered in bulk)."""

    def __init__(self, body: bytes):
        self.body = body


def _rows(payload: Any) -> list[list[Any]]:
    return json.loads(payload.body) if isinstance(payload, _Raw) else payload


def _bad_candle(market: Market, params: dict[str, str], payload: Any) -> Any:
    """The first candle's high drops below its open and close."""
    rows = _rows(payload)
    if rows:
        rows[0][2] = "0.00000001"
    return rows


def _short_page(market: Market, params: dict[str, str], payload: Any) -> Any:
    """Only the first half of the page, as if the server cut it short."""
    rows = _rows(payload)
    return rows[: max(1, len(rows) // 2)]


def _repeat_candle(market: Market, params: dict[str, str], payload: Any) -> Any:
    """The candle just before the page, repeated at its start (what a previous page already held)."""
    rows = _rows(payload)
    if rows:
        before = market.klines(params["symbol"], params["interval"], None, rows[0][0] - 1, 1)
        rows = json.loads(payloads.klines_json(before)) + rows
    return rows


def _missing_candle(market: Market, params: dict[str, str], payload: Any) -> Any:
    """The page without its middle candle (a hole in the series, as an outage leaves)."""
    rows = _rows(payload)
    return rows[: len(rows) // 2] + rows[len(rows) // 2 + 1 :] if len(rows) > 2 else rows


_PAGE_FAULTS: dict[str, Callable[[Market, dict[str, str], Any], Any]] = {
    "bad_candle": _bad_candle,
    "short_page": _short_page,
    "repeat_candle": _repeat_candle,
    "missing_candle": _missing_candle,
}


class SimServer(ThreadingHTTPServer):
    """The simulator; ``serve_in_thread`` starts it in the background and returns its base URL."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        market: Market,
        port: int = 0,
        weight_limit: int = 6000,
        api_key: str = "sim-api-key",
        api_secret: str = "sim-api-secret",
        balances: dict[str, int] | None = None,
        more_accounts: list[tuple[str, str, dict[str, int]]] | None = None,
        latency_ms: float = 0.0,
        quiet: bool = True,
        cached_archives: int = 48,
    ):
        super().__init__(("127.0.0.1", port), _Handler)
        self.market = market
        self.weight_limit = weight_limit
        # Hostile answers (off by default): the REQUEST_WEIGHT limit exchangeInfo states instead of the real one,
        # and names it lists as TRADING USDT symbols without serving them (SQL or a path in a symbol's name).
        self.stated_weight_limit: int | None = None
        self.extra_listed: list[str] = []
        self.limiter = WeightLimiter(weight_limit)
        self.balances = (
            balances if balances is not None else {"BTC": 150_000_000, "ETH": 2_000_000_000, "USDT": 1_234_567_890_000}
        )
        # API key -> (secret, balances in 1e-8 units): the main account, and any more (one per API key pair)
        self.accounts = {api_key: (api_secret, self.balances)} | {k: (s, b) for k, s, b in more_accounts or []}
        self.latency_ms = latency_ms
        self.clock_skew_ms = 0
        self.quiet = quiet
        self.faults = FaultQueue()
        self.archives = ArchiveStore(market, cached_archives)
        self.streams = StreamServer(market, self.faults)
        self.requests: Counter[str] = Counter()
        self.signatures: list[str] = []  # every signature received, so tests can look for leaks
        self._stats_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def serve_in_thread(self) -> str:
        threading.Thread(target=self.serve_forever, name="binance-sim", daemon=True).start()
        return self.base_url

    def now_ms(self) -> int:
        """The server's clock: the market's, shifted by ``clock_skew_ms`` (to provoke -1021)."""
        return self.market.now_ms() + self.clock_skew_ms

    def count(self, path: str) -> None:
        with self._stats_lock:
            self.requests[path] += 1

    def reset_counts(self) -> None:
        with self._stats_lock:
            self.requests.clear()
            self.signatures.clear()
        with self.streams.settings.lock:
            self.streams.settings.connections = self.streams.settings.closed_frames = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, a small response then waits for the
    # client's delayed ACK (40 ms a request on loopback), as Binance's servers do not make clients wait.
    disable_nagle_algorithm = True
    server: SimServer
    _cut = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.server.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json;charset=UTF-8", **headers: Any
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        if self._cut:  # the "cut" fault: half the promised body, then the connection drops
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, **headers: Any) -> None:
        body = payload.body if isinstance(payload, _Raw) else json.dumps(payload, separators=(",", ":")).encode()
        self._send(status, body, **headers)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path.startswith("/_sim/"):
            self._control(method, url.path, body)
            return
        self.server.count(url.path)
        if self.server.latency_ms:
            time.sleep(self.server.latency_ms / 1000)
        fault = self.server.faults.take(url.path)
        self._cut = fault is not None and fault.kind == "cut"
        if fault and self._inject(fault):
            return
        if url.path.startswith("/data/"):
            self._archive(url.path, fault)
            return
        route = _ROUTES.get(url.path)
        if route is None or method != "GET":
            self._send(404, b"", content_type="text/html")
            return
        weight_of, handler = route
        try:
            params = self._params(url.query)
            weight = weight_of(params)
        except ApiError as err:
            self._send_json(err.status, {"code": err.code, "msg": err.msg})
            return
        ip = self.client_address[0]
        verdict = self.server.limiter.charge(ip, weight, self.server.market.now_ms())
        used = {"X-MBX-USED-WEIGHT-1M": verdict.used, "X-MBX-USED-WEIGHT": verdict.used}
        if verdict.status != 200:
            self.server.count(f"HTTP {verdict.status}")
        if verdict.status == 418:
            msg = (
                f"Way too much request weight used; IP banned until {verdict.banned_until_ms}. "
                "Please use WebSocket Streams for live updates to avoid bans."
            )
            self._send_json(418, {"code": -1003, "msg": msg}, **used, **{"Retry-After": verdict.retry_after})
            return
        if verdict.status == 429:
            msg = (
                f"Too much request weight used; current limit is {self.server.weight_limit} request weight "
                "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
            )
            self._send_json(429, {"code": -1003, "msg": msg}, **used, **{"Retry-After": verdict.retry_after})
            return
        try:
            payload = handler(self, params, url.query)
        except ApiError as err:
            self._send_json(err.status, {"code": err.code, "msg": err.msg}, **used)
            return
        if fault and fault.kind in _PAGE_FAULTS:
            payload = _PAGE_FAULTS[fault.kind](self.server.market, params, payload)
        self._send_json(200, payload, **used)

    def _archive(self, path: str, fault: Fault | None) -> None:
        """An archive file (no API weight), or 404 as the archive host answers for a missing file."""
        found = self.server.archives.get(path)
        if found is None:
            self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", content_type="application/xml")
            return
        body, content_type = found
        if fault and fault.kind == "corrupt":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        self._send(200, body, content_type=content_type)

    def _params(self, query: str) -> dict[str, str]:
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            raise ApiError(400, -1101, "Duplicate values for a parameter detected.")
        return params

    def _inject(self, fault: Fault) -> bool:
        """Apply ``fault``; True when the request has been answered (or dropped)."""
        if fault.kind == "delay":
            time.sleep(fault.seconds)
            return False
        if fault.kind in (*_PAGE_FAULTS, "corrupt", "cut"):
            return False
        if fault.kind == "reset":
            self.close_connection = True
            return True
        if fault.kind == "malformed":
            self._send(200, b'[[1500000000000,"1.00000000","1.0')
        elif fault.kind == "html":
            self._send(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
        elif fault.kind in ("rate_limit", "ban"):
            status = 429 if fault.kind == "rate_limit" else 418
            self._send_json(
                status,
                {"code": -1003, "msg": "Too much request weight used (injected)."},
                **{"Retry-After": int(fault.seconds)},
            )
        else:
            self._send_json(
                fault.status, {"code": -1000, "msg": "An unknown error occurred while processing the request."}
            )
        return True

    def _control(self, method: str, path: str, body: bytes) -> None:
        if path == "/_sim/faults" and method == "POST":
            try:
                self.server.faults.add(Fault(**json.loads(body)))
            except (TypeError, ValueError) as err:
                self._send_json(400, {"error": str(err)})
                return
        elif path == "/_sim/faults" and method == "DELETE":
            self.server.faults.clear()
        elif path == "/_sim/config" and method == "POST":
            config = json.loads(body)
            self.server.latency_ms = float(config.get("latency_ms", self.server.latency_ms))
            self.server.clock_skew_ms = int(config.get("clock_skew_ms", self.server.clock_skew_ms))
            limit = int(config.get("weight_limit", self.server.weight_limit))
            self.server.weight_limit = self.server.limiter.limit = limit
            streams = self.server.streams.settings
            streams.max_connection_s = float(config.get("ws_max_connection_s", streams.max_connection_s))
            self.server.stated_weight_limit = config.get("stated_weight_limit", self.server.stated_weight_limit)
            self.server.extra_listed = list(config.get("extra_listed", self.server.extra_listed))
        elif path == "/_sim/stats" and method == "DELETE":
            self.server.reset_counts()
        elif path == "/_sim/stats" and method == "GET":
            streams = self.server.streams.settings
            self._send_json(
                200,
                {
                    "requests": dict(self.server.requests),
                    "signatures": self.server.signatures,
                    "ws_connections": streams.connections,
                    "ws_closed_candles": streams.closed_frames,
                    "weight_by_minute": self.server.limiter.charged(),
                },
            )
            return
        else:
            self._send_json(404, {"error": f"no control endpoint {method} {path}"})
            return
        self._send_json(200, {"ok": True})

    # Endpoint handlers: (self, params, raw query) -> JSON payload.

    def _known(self, symbols: list[str]) -> list[str]:
        unknown = [s for s in symbols if s not in self.server.market.specs]
        if unknown:
            raise ApiError(400, -1121, "Invalid symbol.")
        return symbols

    def ping(self, params: dict[str, str], query: str) -> Any:
        return {}

    def time(self, params: dict[str, str], query: str) -> Any:
        return {"serverTime": self.server.now_ms()}

    def exchange_info(self, params: dict[str, str], query: str) -> Any:
        symbols = _symbol_list(params)
        chosen = self._known(symbols) if symbols is not None else list(self.server.market.specs)
        stated = self.server.stated_weight_limit
        info = payloads.exchange_info(
            self.server.market, chosen, self.server.weight_limit if stated is None else stated
        )
        if symbols is None:
            info["symbols"] += [payloads.listed_only(name) for name in self.server.extra_listed]
        return info

    def klines(self, params: dict[str, str], query: str) -> Any:
        symbol = params.get("symbol") or None
        if symbol is None:
            raise _mandatory("symbol")
        if not params.get("interval"):
            raise _mandatory("interval")
        interval = params["interval"]
        if interval not in INTERVALS:
            raise ApiError(400, -1120, "Invalid interval.")
        self._known([symbol])
        limit_raw = params.get("limit", "500")
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 1000:
            raise _invalid("limit")
        start, end = _timestamp(params, "startTime"), _timestamp(params, "endTime")
        return _Raw(payloads.klines_json(self.server.market.klines(symbol, interval, start, end, int(limit_raw))))

    def ticker_24hr(self, params: dict[str, str], query: str) -> Any:
        kind = params.get("type", "FULL")
        if kind not in ("FULL", "MINI"):
            raise ApiError(400, -1139, "Invalid ticker type.")
        symbols = _symbol_list(params)
        chosen = self._known(symbols) if symbols is not None else list(self.server.market.specs)
        tickers = [payloads.ticker_24hr(self.server.market, s, kind == "MINI") for s in chosen]
        return tickers[0] if "symbol" in params else tickers

    def account(self, params: dict[str, str], query: str) -> Any:
        key = self.headers.get("X-MBX-APIKEY")
        if not key:
            raise ApiError(401, -2014, "API-key format invalid.")
        if key not in self.server.accounts:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        secret, balances = self.server.accounts[key]
        timestamp = _timestamp(params, "timestamp")
        if timestamp is None:
            raise _mandatory("timestamp")
        try:
            recv_window = float(params.get("recvWindow", "5000"))
        except ValueError:
            raise _invalid("recvWindow") from None
        if not 0 < recv_window <= 60000:
            raise _invalid("recvWindow")
        now = self.server.now_ms()
        if timestamp >= now + 1000:
            raise ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if now - timestamp > recv_window:
            raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        signature = params.get("signature")
        if not signature:
            raise _mandatory("signature")
        payload = "&".join(p for p in query.split("&") if not p.startswith("signature="))
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        self.server.signatures.append(signature)
        if not hmac.compare_digest(expected, signature.lower()):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        if params.get("omitZeroBalances") == "true":
            balances = {a: u for a, u in balances.items() if u}
        return payloads.account(balances, now)


def _ticker_weight(params: dict[str, str]) -> int:
    symbols = _symbol_list(params)
    if symbols is None:
        return 80
    return 2 if len(symbols) <= 20 else 40 if len(symbols) <= 100 else 80


_Route = tuple[Callable[[dict[str, str]], int], Callable[[_Handler, dict[str, str], str], Any]]
_ROUTES: dict[str, _Route] = {
    "/api/v3/ping": (lambda p: 1, _Handler.ping),
    "/api/v3/time": (lambda p: 1, _Handler.time),
    "/api/v3/exchangeInfo": (lambda p: 20, _Handler.exchange_info),
    "/api/v3/klines": (lambda p: 2, _Handler.klines),
    "/api/v3/ticker/24hr": (_ticker_weight, _Handler.ticker_24hr),
    "/api/v3/account": (lambda p: 20, _Handler.account),
}
