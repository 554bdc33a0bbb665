"""Retrying HTTP GETs to Binance and its archive host: which failures are transient, and the backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from binance_airflow.binance.errors import BinanceUnavailableError

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


def get(session: requests.Session, url: str, **kwargs: Any) -> requests.Response:
    """``session.get(url)`` with the whole body read; a transport failure becomes ``Transient``."""
    try:
        return session.get(url, **kwargs)
    except TRANSPORT_ERRORS as err:
        raise Transient(type(err).__name__) from None


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
    raw = response.headers.get("Retry-After", "")
    return int(raw) if raw.isdigit() else None
