"""Exceptions raised by the Binance hook; messages never contain credentials or signatures."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk.exceptions import AirflowFailException


class BinanceError(Exception):
    """Base class of every Binance hook error."""


class BinanceAPIError(BinanceError):
    """Binance refused a request (4xx with ``{"code", "msg"}``): retrying the same request will not help."""

    def __init__(self, path: str, status: int, code: int | None, msg: str):
        super().__init__(f"Binance {path} answered HTTP {status}, code {code}: {msg}")
        self.path, self.status, self.code, self.msg = path, status, code, msg


class BinanceRequestRejected(BinanceAPIError, AirflowFailException):
    """HTTP 400: Binance finds the request itself invalid (an unknown symbol, a bad parameter).

    It is also an ``AirflowFailException``: a task retry would send the same request, so the task fails at
    once (a ``-1021`` timestamp the hook could not fix by resyncing its clock included).
    """


class BinanceBannedError(BinanceError, AirflowFailException):
    """HTTP 418: the IP is banned; the hook stops at once instead of making the ban longer.

    It is also an ``AirflowFailException``: a task retry before the ban ends would only extend it.
    """

    def __init__(self, path: str, retry_after_s: int):
        until = datetime.fromtimestamp(datetime.now(UTC).timestamp() + retry_after_s, UTC)
        super().__init__(
            f"Binance {path} answered HTTP 418: this IP is banned until {until:%Y-%m-%d %H:%M:%S} UTC "
            f"(Retry-After {retry_after_s} s); not retrying"
        )
        self.retry_after_s, self.banned_until = retry_after_s, until


class BinanceAnswerRefused(BinanceError, AirflowFailException):
    """The server asked for something this client will not do: wait longer than it allows, or budget below a
    sane floor, or a request no budget could ever grant. The message names the value and the setting.

    It is also an ``AirflowFailException``: a retry would meet the same answer.
    """


class BinanceUnavailableError(BinanceError):
    """Transient failures (5xx, timeouts, resets, garbled bodies, 429s) outlasted the retry budget."""
