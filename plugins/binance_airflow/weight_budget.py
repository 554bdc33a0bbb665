"""Client-side REQUEST_WEIGHT budget: stay under Binance's per-minute limit instead of hitting 429."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"


class WeightBudget:
    """Tracks weight used in the current calendar minute (Binance's window) and waits before the limit.

    ``reserve`` is called before each request and counts it at once, so concurrent callers share one
    budget; ``observe`` folds in the server's own count from ``X-MBX-USED-WEIGHT-1M``.
    """

    def __init__(
        self,
        limit: int = 6000,
        headroom: float = 0.9,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limit = limit
        self.headroom = headroom
        self._clock, self._sleep = clock, sleep
        self._minute = -1
        self._used = 0
        self._lock = threading.Lock()

    @property
    def ceiling(self) -> int:
        return int(self.limit * self.headroom)

    def _roll(self, now: float) -> None:
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._used = minute, 0

    def reserve(self, weight: int) -> None:
        """Block until ``weight`` fits under the ceiling in the current minute, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                self._roll(now)
                if self._used + weight <= self.ceiling or self._used == 0:
                    self._used += weight
                    return
                wait = 60 - now % 60 + 0.25
                used = self._used
            log.info(
                "weight budget: %d/%d used this minute; waiting %.1f s for the next window", used, self.limit, wait
            )
            self._sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the server's count of this minute's weight when it is higher than ours."""
        raw = headers.get(USED_WEIGHT_HEADER)
        if raw is None or not raw.isdigit():
            return
        with self._lock:
            self._roll(self._clock())
            self._used = max(self._used, int(raw))

    @property
    def used(self) -> int:
        with self._lock:
            self._roll(self._clock())
            return self._used
