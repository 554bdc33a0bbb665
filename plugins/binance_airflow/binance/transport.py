"""Retrying HTTP GETs to Binance and its archive host: which failures are transient, and the backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from binance_airflow.binance.errors import BinanceAnswerRefused, BinanceUnavailableError
from include import settings

T = TypeVar("T")

# Everything that can go wrong on the way, before or after the response headers: refused or reset
# connections, timeouts, a body cut short (ChunkedEncodingError, raised inside ``session.get``), a body
# that does not decompress. None of them says anything about the request itself, so all are retried.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class Transient(Exception):
    """A failure worth retrying; ``wait`` overrides the backoff (e.g. Retry-After)."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.wait = wait


def get(session: requests.Session, url: str, max_bytes: int | None = None, **kwargs: Any) -> requests.Response:
    """``session.get(url)`` with the whole body read, at most ``max_bytes`` of it: a longer body (announced or
    sent) fails at once naming the limit, before more is held in memory. A transport failure becomes
    ``Transient``."""
    max_bytes = settings.MAX_BODY_BYTES if max_bytes is None else max_bytes
    try:
        response = session.get(url, stream=True, **kwargs)
        with response:
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                _too_long(url, f"announces {announced} bytes", max_bytes)
            body = bytearray()
            for chunk in response.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    _too_long(url, f"sent more than {max_bytes} bytes", max_bytes)
            response._content = bytes(body)  # what requests keeps of a body read whole (``response.content``)
        return response
    except TRANSPORT_ERRORS as err:
        raise Transient(type(err).__name__) from None


CHUNK_BYTES = 1 << 16


def _too_long(url: str, what: str, max_bytes: int) -> None:
    raise BinanceAnswerRefused(
        f"{url.split('?', 1)[0]} {what}, past the {max_bytes} bytes this client reads from one answer "
        "(BINANCE_ETL_MAX_BODY_MB, BINANCE_ETL_MAX_DOWNLOAD_MB for archive files); not reading it"
    )


@dataclass
class RetryPolicy:
    """At most ``max_retries`` retries of ``Transient`` failures, waiting ``backoff_seconds`` times 1, 2, 4, …."""

    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    log: logging.Logger = field(default_factory=lambda: logging.getLogger(__name__))

    def run(self, what: str, attempt: Callable[[], T]) -> T:
        """``attempt()`` until it succeeds; ``BinanceUnavailableError`` once the retries are spent."""
        failures = 0
        while True:
            try:
                return attempt()
            except Transient as err:
                failures += 1
                if failures > self.max_retries:
                    raise BinanceUnavailableError(
                        f"Binance {what}: giving up after {failures} attempts; last error: {err}"
                    ) from None
                wait = err.wait if err.wait is not None else self.backoff(failures)
                self.log.warning("Binance %s: %s; retry %d/%d in %.1f s", what, err, failures, self.max_retries, wait)
                self.sleep(wait)

    def backoff(self, failures: int) -> float:
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (failures - 1))


def retry_after(response: requests.Response) -> int | None:
    """The response's ``Retry-After`` in seconds, as the server gave it (None when absent or not a number)."""
    raw = response.headers.get("Retry-After", "")
    return int(raw) if raw.isdigit() else None


def bounded_wait(response: requests.Response, what: str, default: float | None = None) -> float | None:
    """How long to wait before retrying ``response`` (its ``Retry-After``, else ``default``), at most
    ``settings.MAX_RETRY_AFTER_S``: a longer demand fails at once naming it, instead of sleeping for it."""
    asked = retry_after(response)
    if asked is not None and asked > settings.MAX_RETRY_AFTER_S:
        raise BinanceAnswerRefused(
            f"Binance {what} answered HTTP {response.status_code} with Retry-After {asked} s, more than the "
            f"{settings.MAX_RETRY_AFTER_S} s this client waits (BINANCE_ETL_MAX_RETRY_AFTER); not waiting"
        )
    return float(asked) if asked is not None else default
