"""Client-side REQUEST_WEIGHT budget: stay under Binance's per-minute limit instead of hitting 429.

Binance counts weight per IP, so every process that calls it from one machine (mapped tasks, Celery
workers, the stream service's healer) must draw on one budget. With ``BINANCE_ETL_WEIGHT_REDIS`` set the
minute's count lives in Redis and is reserved atomically; without it (or while Redis is unreachable)
each process counts on its own and adopts the server's ``X-MBX-USED-WEIGHT-1M``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from binance_airflow.binance.errors import BinanceAnswerRefused

log = logging.getLogger(__name__)

USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
KEY_PREFIX = "binance_etl:weight"
T = TypeVar("T")


class MinuteCounter(Protocol):
    """Weight used per calendar minute, shared by everyone holding the same counter."""

    def take(self, minute: int, weight: int, ceiling: int) -> tuple[bool, int]:
        """Add ``weight`` to ``minute`` when it fits under ``ceiling`` (or the minute is still empty);
        returns whether it was added, and the minute's count."""
        ...

    def raise_to(self, minute: int, used: int) -> None:
        """The minute's count is at least ``used`` (the server said so)."""
        ...

    def used(self, minute: int) -> int: ...


class LocalCounter:
    """This process's count (threads share it)."""

    def __init__(self) -> None:
        self._minute, self._used = -1, 0
        self._lock = threading.Lock()

    def _roll(self, minute: int) -> None:
        if minute != self._minute:
            self._minute, self._used = minute, 0

    def take(self, minute: int, weight: int, ceiling: int) -> tuple[bool, int]:
        with self._lock:
            self._roll(minute)
            if self._used + weight <= ceiling or self._used == 0:
                self._used += weight
                return True, self._used
            return False, self._used

    def raise_to(self, minute: int, used: int) -> None:
        with self._lock:
            self._roll(minute)
            self._used = max(self._used, used)

    def used(self, minute: int) -> int:
        with self._lock:
            self._roll(minute)
            return self._used


# KEYS[1] the minute's key; ARGV: weight, ceiling, ttl. Same rule as LocalCounter.take, atomically.
_TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used == 0 or used + tonumber(ARGV[1]) <= tonumber(ARGV[2]) then
  used = redis.call('INCRBY', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return {1, used}
end
return {0, used}
"""
# KEYS[1] the minute's key; ARGV: used, ttl.
_RAISE = """
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
"""


class RedisCounter:
    """The count in Redis under ``binance_etl:weight:<scope>:<minute>``, shared by every process and
    worker that uses the same Redis and scope (the exchange's host: Binance limits per IP and host).

    Should Redis stop answering, the counter falls back to a local one (logged once) rather than stop
    extraction; the server's used-weight header still bounds each process.
    """

    TTL_S = 120

    def __init__(self, url: str, scope: Callable[[], str]):
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._take, self._raise = self._client.register_script(_TAKE), self._client.register_script(_RAISE)
        self._scope = scope
        self._url = url
        self._fallback: LocalCounter | None = None

    def _key(self, minute: int) -> str:
        return f"{KEY_PREFIX}:{self._scope()}:{minute}"

    def _either(self, shared: Callable[[], T], local: Callable[[LocalCounter], T]) -> T:
        """``shared()`` against Redis; ``local(counter)`` once Redis has failed (warned about once)."""
        if self._fallback is None:
            try:
                return shared()
            except _redis_errors() as err:
                log.warning(
                    "weight budget: Redis at %s is unreachable (%s); this process now counts only its own weight, "
                    "so several processes may together near the limit",
                    _redacted(self._url),
                    err,
                )
                self._fallback = LocalCounter()
        return local(self._fallback)

    def take(self, minute: int, weight: int, ceiling: int) -> tuple[bool, int]:
        def shared() -> tuple[bool, int]:
            granted, used = self._take(keys=[self._key(minute)], args=[weight, ceiling, self.TTL_S])
            return bool(granted), int(used)

        return self._either(shared, lambda local: local.take(minute, weight, ceiling))

    def raise_to(self, minute: int, used: int) -> None:
        self._either(
            lambda: self._raise(keys=[self._key(minute)], args=[used, self.TTL_S]),
            lambda local: local.raise_to(minute, used),
        )

    def used(self, minute: int) -> int:
        return self._either(lambda: int(self._client.get(self._key(minute)) or 0), lambda local: local.used(minute))


def _redis_errors() -> tuple[type[Exception], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


def _redacted(url: str) -> str:
    """``url`` without a password (``redis://:secret@host`` → ``redis://***@host``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else url


class WeightBudget:
    """Weight used in the current calendar minute (Binance's window); waits before the limit.

    ``reserve`` is called before each request and counts it at once, so concurrent callers share one
    budget; ``observe`` folds in the server's own count from ``X-MBX-USED-WEIGHT-1M``. ``counter`` is
    where the count lives: this process (default) or Redis (shared by every process).
    """

    def __init__(
        self,
        limit: int = 6000,
        headroom: float = 0.9,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        counter: MinuteCounter | None = None,
    ):
        self.limit = limit
        self.headroom = headroom
        self._clock, self._sleep = clock, sleep
        self.counter: MinuteCounter = counter or LocalCounter()

    @property
    def ceiling(self) -> int:
        return int(self.limit * self.headroom)

    def reserve(self, weight: int) -> None:
        """Block until ``weight`` fits under the ceiling in the current minute, then count it; a request heavier
        than the whole ceiling fails at once (no minute could ever grant it)."""
        if weight > self.ceiling:
            raise BinanceAnswerRefused(
                f"a request of weight {weight} exceeds the budget's ceiling of {self.ceiling} per minute "
                f"({self.headroom:.0%} of the limit {self.limit}/min): it could never be sent"
            )
        while True:
            now = self._clock()
            granted, used = self.counter.take(int(now // 60), weight, self.ceiling)
            if granted:
                return
            wait = 60 - now % 60 + 0.25
            log.info("weight budget: %d/%d used this minute; waiting %.1f s for the next one", used, self.limit, wait)
            self._sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the server's count of this minute's weight when it is higher than ours."""
        raw = headers.get(USED_WEIGHT_HEADER)
        if raw is not None and raw.isdigit():
            self.counter.raise_to(int(self._clock() // 60), int(raw))

    @property
    def used(self) -> int:
        return self.counter.used(int(self._clock() // 60))


def counter_for(redis_url: str | None, scope: Callable[[], str]) -> MinuteCounter:
    """The shared Redis counter when ``redis_url`` is set, else this process's own."""
    return RedisCounter(redis_url, scope) if redis_url else LocalCounter()
