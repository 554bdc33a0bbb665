"""Deterministic market data: a seeded random walk per symbol at 1m, aggregated exactly to every interval.

Prices and volumes are integers in units of 1e-8 so that every coarser candle is the exact
aggregation of its minutes (sums are exact, open/close/high/low are picks).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from include.intervals import DAY_MS, FIXED_MS, MINUTE_MS, floor_open, next_open

UNIT = 10**8
MINUTES_PER_DAY = 1440
FIELDS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_base", "taker_quote")
QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY")

Candles = dict[str, np.ndarray]


@dataclass(frozen=True)
class SymbolSpec:
    """One listed symbol: listing day (ms, 00:00 UTC), optional delisting time, starting price."""

    symbol: str
    listed_ms: int
    delisted_ms: int | None = None
    base_price: float = 100.0

    @property
    def base_asset(self) -> str:
        return self.symbol[: -len(self.quote_asset)]

    @property
    def quote_asset(self) -> str:
        return next((q for q in QUOTE_ASSETS if self.symbol.endswith(q) and len(self.symbol) > len(q)), "USDT")

    @property
    def tick_units(self) -> int:
        """Price tick in 1e-8 units: about five significant digits, like Binance's tick sizes."""
        return max(1, 10 ** max(0, int(np.floor(np.log10(self.base_price))) + 8 - 5))


def format_units(units: int) -> str:
    """1e-8 fixed-point integer as Binance's 8-decimal string."""
    sign = "-" if units < 0 else ""
    units = abs(units)
    return f"{sign}{units // UNIT}.{units % UNIT:08d}"


class Market:
    """Candles for a set of symbols; ``clock`` returns the current time in ms."""

    def __init__(self, specs: list[SymbolSpec], seed: int = 7, clock: Callable[[], int] | None = None):
        self.specs = {s.symbol: s for s in specs}
        self.seed = seed
        self.clock = clock or (lambda: int(time.time() * 1000))
        self._anchors: dict[str, np.ndarray] = {}
        self._day = lru_cache(maxsize=512)(self._generate_day)
        self._coarse = lru_cache(maxsize=200_000)(self._coarsen_day)

    def now_ms(self) -> int:
        return self.clock()

    def _key(self, symbol: str) -> int:
        return zlib.crc32(symbol.encode())

    def _anchor(self, symbol: str, day: int) -> float:
        """Log price at 00:00 UTC of ``day`` days after listing (a daily random walk)."""
        anchors = self._anchors.get(symbol)
        if anchors is None or day >= len(anchors):
            blocks = day // 1024 + 1
            steps = [
                np.random.default_rng([self.seed, self._key(symbol), 0, b]).normal(0.0, 0.03, 1024)
                for b in range(blocks)
            ]
            walk = np.concatenate([[0.0], np.cumsum(np.concatenate(steps))])
            anchors = np.log(self.specs[symbol].base_price) + walk
            self._anchors[symbol] = anchors
        return float(anchors[day])

    def _generate_day(self, symbol: str, day: int) -> Candles:
        """The 1440 one-minute candles of a whole day (``day`` counted from listing)."""
        spec = self.specs[symbol]
        tick = spec.tick_units
        rng = np.random.default_rng([self.seed, self._key(symbol), 1, day])
        start, end = self._anchor(symbol, day), self._anchor(symbol, day + 1)
        steps = rng.normal(0.0, 0.0008, MINUTES_PER_DAY)
        path = np.cumsum(steps)
        t = np.arange(1, MINUTES_PER_DAY + 1) / MINUTES_PER_DAY
        log_close = start + path - t * (path[-1] - (end - start))
        close = np.maximum(np.round(np.exp(log_close) * UNIT / tick), 1).astype(np.int64) * tick
        first = max(round(np.exp(start) * UNIT / tick), 1) * tick
        open_ = np.concatenate([[first], close[:-1]]).astype(np.int64)
        wick = np.abs(rng.normal(0.0, 0.0004, (2, MINUTES_PER_DAY))) * close
        high = np.maximum(open_, close) + (wick[0] // tick).astype(np.int64) * tick
        low = np.maximum(np.minimum(open_, close) - (wick[1] // tick).astype(np.int64) * tick, tick)
        volume = np.round(rng.lognormal(2.0, 1.0, MINUTES_PER_DAY) * UNIT / max(spec.base_price, 1) * 100)
        volume = volume.astype(np.int64)
        taker = (volume * rng.uniform(0.3, 0.7, MINUTES_PER_DAY)).astype(np.int64)
        avg = (open_ + high + low + close) / 4 / UNIT
        return {
            "open_time": spec.listed_ms + day * DAY_MS + np.arange(MINUTES_PER_DAY, dtype=np.int64) * MINUTE_MS,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "quote_volume": np.round(volume * avg).astype(np.int64),
            "trades": rng.poisson(40, MINUTES_PER_DAY).astype(np.int64) + 1,
            "taker_base": taker,
            "taker_quote": np.round(taker * avg).astype(np.int64),
        }

    def _coarsen_day(self, symbol: str, day: int, grain_minutes: int) -> Candles:
        """A whole day as candles of ``grain_minutes`` (a divisor of a day), cached: coarse pages stay cheap."""
        return aggregate(self._day(symbol, day), np.arange(0, MINUTES_PER_DAY, grain_minutes))

    def _bounds(self, symbol: str) -> tuple[int, int]:
        """First and last minute (open times, inclusive) that exist for ``symbol`` now."""
        spec = self.specs[symbol]
        last = floor_open(self.now_ms(), "1m")
        if spec.delisted_ms is not None:
            last = min(last, spec.delisted_ms - MINUTE_MS)
        return spec.listed_ms, last

    def _units(self, symbol: str, start: int, end: int, grain_minutes: int = 1) -> Candles:
        """Candles opening in [start, end): whole days at ``grain_minutes``, partial days by the minute."""
        first, last = self._bounds(symbol)
        start, end = max(start, first), min(end, last + MINUTE_MS)
        if start >= end:
            return {f: np.empty(0, dtype=np.int64) for f in FIELDS}
        listed = self.specs[symbol].listed_ms
        day0, day1 = (start - listed) // DAY_MS, (end - 1 - listed) // DAY_MS
        parts = []
        for day in range(day0, day1 + 1):
            day_start = listed + day * DAY_MS
            if grain_minutes > 1 and start <= day_start and day_start + DAY_MS <= end:
                parts.append(self._coarse(symbol, day, grain_minutes))
                continue
            minutes = self._day(symbol, day)
            lo = max(0, (start - day_start) // MINUTE_MS)
            hi = min(MINUTES_PER_DAY, (end - day_start + MINUTE_MS - 1) // MINUTE_MS)
            parts.append({f: minutes[f][lo:hi] for f in FIELDS})
        return {f: np.concatenate([p[f] for p in parts]) for f in FIELDS}

    def bucket_opens(self, symbol: str, interval: str, start: int | None, end: int | None, limit: int) -> np.ndarray:
        """Open times of the candles Binance would return, following its startTime/endTime/limit rules."""
        first, last = self._bounds(symbol)
        if last < first:
            return np.empty(0, dtype=np.int64)
        lo, hi = floor_open(first, interval), floor_open(last, interval)
        if end is not None:
            hi = min(hi, floor_open(end, interval))
        if start is not None:
            aligned = floor_open(start, interval)
            lo = max(lo, aligned if aligned == start else next_open(aligned, interval))
        if lo > hi:
            return np.empty(0, dtype=np.int64)
        if interval in FIXED_MS:
            step = FIXED_MS[interval]
            count = min(limit, (hi - lo) // step + 1)
            base = lo if start is not None else hi - (count - 1) * step
            return base + step * np.arange(count, dtype=np.int64)
        opens = [lo]
        while next_open(opens[-1], interval) <= hi:
            opens.append(next_open(opens[-1], interval))
        return np.array(opens[:limit] if start is not None else opens[-limit:], dtype=np.int64)

    def klines(
        self, symbol: str, interval: str, start: int | None = None, end: int | None = None, limit: int = 500
    ) -> Candles:
        """Candles as columns (``FIELDS`` plus ``close_time``), prices and volumes in 1e-8 units."""
        opens = self.bucket_opens(symbol, interval, start, end, limit)
        if len(opens) == 0:
            return {f: np.empty(0, dtype=np.int64) for f in (*FIELDS, "close_time")}
        stop = next_open(int(opens[-1]), interval)
        step = FIXED_MS.get(interval, DAY_MS)
        grain = step // MINUTE_MS if DAY_MS % step == 0 else MINUTES_PER_DAY
        units = self._units(symbol, int(opens[0]), stop, grain)
        starts = np.searchsorted(units["open_time"], opens)
        present = starts < np.append(starts[1:], len(units["open_time"]))
        table = aggregate(units, starts[present])
        table["open_time"] = opens[present]
        closes = np.append(opens[1:], stop) - 1
        if interval in FIXED_MS:
            closes = opens + FIXED_MS[interval] - 1
        table["close_time"] = closes[present]
        return table

    def minutes(self, symbol: str, start: int, end: int) -> Candles:
        """The one-minute candles opening in [start, end) that exist now."""
        return self._units(symbol, start, end)


def aggregate(units: Candles, starts: np.ndarray) -> Candles:
    """Collapse consecutive runs of candles beginning at index ``starts`` into one candle each."""
    if len(starts) == 0:
        return {f: np.empty(0, dtype=np.int64) for f in FIELDS}
    ends = np.append(starts[1:], len(units["open_time"])) - 1
    return {
        "open_time": units["open_time"][starts],
        "open": units["open"][starts],
        "close": units["close"][ends],
        "high": np.maximum.reduceat(units["high"], starts),
        "low": np.minimum.reduceat(units["low"], starts),
        **{
            f: np.add.reduceat(units[f], starts)
            for f in ("volume", "quote_volume", "trades", "taker_base", "taker_quote")
        },
    }
