"""Binance's REQUEST_WEIGHT limiter: a per-IP weight budget per calendar minute, 429 then 418 bans."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass
class Verdict:
    """What the limiter decided for one request."""

    status: int  # 200, 429 or 418
    used: int  # weight used in the current minute, for X-MBX-USED-WEIGHT-1M
    retry_after: int = 0  # seconds
    banned_until_ms: int = 0


@dataclass
class _IpState:
    minute: int = -1
    used: int = 0
    rejected: int = 0
    bans: int = 0
    banned_until_ms: int = 0


class WeightLimiter:
    """Counts weight per IP per minute; past ``limit`` answers 429, and after ``ban_after`` ignored 429s, 418.

    Bans last ``ban_seconds`` and double for each repeat, as Binance's grow from 2 minutes to 3 days.
    """

    def __init__(self, limit: int = 6000, ban_after: int = 5, ban_seconds: int = 120):
        self.limit = limit
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self._ips: dict[str, _IpState] = {}
        self._charged: dict[int, int] = {}  # minute since the epoch → weight accepted from every IP
        self._lock = threading.Lock()

    def charge(self, ip: str, weight: int, now_ms: int) -> Verdict:
        with self._lock:
            state = self._ips.setdefault(ip, _IpState())
            minute = now_ms // 60_000
            if minute != state.minute:
                state.minute, state.used, state.rejected = minute, 0, 0
            if state.banned_until_ms > now_ms:
                return self._ban_verdict(state, now_ms)
            if state.used + weight > self.limit:
                state.rejected += 1
                if state.rejected > self.ban_after:
                    state.banned_until_ms = now_ms + self.ban_seconds * 1000 * 2**state.bans
                    state.bans += 1
                    return self._ban_verdict(state, now_ms)
                return Verdict(429, state.used, retry_after=math.ceil((minute + 1) * 60 - now_ms / 1000))
            state.used += weight
            self._charged[minute] = self._charged.get(minute, 0) + weight
            return Verdict(200, state.used)

    def charged(self) -> dict[int, int]:
        """Weight accepted in each calendar minute (minutes since the epoch), every IP together."""
        with self._lock:
            return dict(self._charged)

    def used(self, ip: str, now_ms: int) -> int:
        with self._lock:
            state = self._ips.get(ip)
            return state.used if state and state.minute == now_ms // 60_000 else 0

    @staticmethod
    def _ban_verdict(state: _IpState, now_ms: int) -> Verdict:
        retry = math.ceil((state.banned_until_ms - now_ms) / 1000)
        return Verdict(418, state.used, retry_after=retry, banned_until_ms=state.banned_until_ms)
