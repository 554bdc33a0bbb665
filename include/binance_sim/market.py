"""Deterministic market data: a seeded random walk per symbol at 1m, aggregated exactly to every interval.

Prices and volumes are integers in units of 1e-8 so that every coarser candle is the exact
aggregation of its minutes (sums are exact, open/close/high/low are picks), and every minute is the
exact aggregation of its sixty 1s candles. As on Binance:
- an outage is a stretch of minutes with no candle at all, so every interval (and every archive file)
  has the same hole; the candle an outage cuts short closes early (``close_time`` = the end of its last
  minute), the one after it opens on its grid time with the first minute that traded;
- 3d candles open every three days from the symbol's own listing day (the grid is per symbol), 1w
  candles on Mondays, 1M candles on the 1st.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from include.intervals import DAY_MS, FIXED_MS, MINUTE_MS, SECOND_MS, floor_open, next_open

UNIT = 10**8
MINUTES_PER_DAY = 1440
FIELDS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "taker_base",
    "taker_quote",
    "last_open",
)  # last_open: open time of the last minute (or second) inside the candle
SUMS = ("volume", "quote_volume", "trades", "taker_base", "taker_quote")
QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY")

Candles = dict[str, np.ndarray]


@dataclass(frozen=True)
class Outage:
    """Minutes of ``symbol`` with no trading: [start_ms, end_ms), minute-aligned."""

    symbol: str
    start_ms: int
    end_ms: int


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

    def __init__(
        self,
        specs: list[SymbolSpec],
        seed: int = 7,
        clock: Callable[[], int] | None = None,
        outages: Iterable[Outage] = (),
    ):
        self.specs = {s.symbol: s for s in specs}
        self.seed = seed
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.outages: dict[str, list[tuple[int, int]]] = {}
        for outage in outages:
            self.outages.setdefault(outage.symbol, []).append((outage.start_ms, outage.end_ms))
        self._anchors: dict[str, np.ndarray] = {}
        self._day = lru_cache(maxsize=2048)(self._generate_day)  # a day of every symbol streamed, 130 kB each
        self._seconds = lru_cache(maxsize=16)(self._split_day)  # 7.6 MB each
        self._coarse = lru_cache(maxsize=200_000)(self._coarsen_day)

    def now_ms(self) -> int:
        return self.clock()

    def _key(self, symbol: str) -> int:
        return zlib.crc32(symbol.encode())

    def in_outage(self, symbol: str, ms: np.ndarray) -> np.ndarray:
        """Which of the times ``ms`` fall inside one of ``symbol``'s outages."""
        hit = np.zeros(len(ms), dtype=bool)
        for start, end in self.outages.get(symbol, ()):
            hit |= (ms >= start) & (ms < end)
        return hit

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
        """The one-minute candles of a whole day (``day`` counted from listing), outage minutes left out."""
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
        opens = spec.listed_ms + day * DAY_MS + np.arange(MINUTES_PER_DAY, dtype=np.int64) * MINUTE_MS
        minutes = {
            "open_time": opens,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "quote_volume": np.round(volume * avg).astype(np.int64),
            "trades": rng.poisson(40, MINUTES_PER_DAY).astype(np.int64) + 1,
            "taker_base": taker,
            "taker_quote": np.round(taker * avg).astype(np.int64),
            "last_open": opens,
        }
        traded = ~self.in_outage(symbol, opens)
        return minutes if traded.all() else {f: v[traded] for f, v in minutes.items()}

    def _split_day(self, symbol: str, day: int) -> Candles:
        """The 1s candles of a whole day: each minute split exactly into sixty seconds."""
        minutes = self._day(symbol, day)
        count, tick = len(minutes["open_time"]), self.specs[symbol].tick_units
        rng = np.random.default_rng([self.seed, self._key(symbol), 2, day])
        low, high = minutes["low"][:, None], minutes["high"][:, None]
        path = low + np.round(rng.random((count, 59)) * (high - low) / tick).astype(np.int64) * tick
        close = np.concatenate([np.clip(path, low, high), minutes["close"][:, None]], axis=1)
        open_ = np.concatenate([minutes["open"][:, None], close[:, :-1]], axis=1)
        top, bottom = np.maximum(open_, close), np.minimum(open_, close)
        rows = np.arange(count)
        top[rows, rng.integers(0, 60, count)] = minutes["high"]  # the minute's extremes happen in some second
        bottom[rows, rng.integers(0, 60, count)] = minutes["low"]
        weights = rng.random((count, 60)) + 0.05
        weights /= weights.sum(axis=1, keepdims=True)
        opens = minutes["open_time"][:, None] + np.arange(60, dtype=np.int64) * SECOND_MS
        seconds = {"open_time": opens, "open": open_, "high": top, "low": bottom, "close": close, "last_open": opens}
        for field in SUMS:
            total = minutes[field][:, None]
            parts = np.floor(total * weights).astype(np.int64)
            parts[:, 0] += total[:, 0] - parts.sum(axis=1)  # exact: the seconds sum to the minute
            seconds[field] = parts
        return {f: v.reshape(-1) for f, v in seconds.items()}

    def _coarsen_day(self, symbol: str, day: int, grain_minutes: int) -> Candles:
        """A whole day as candles of ``grain_minutes`` (a divisor of a day), cached: coarse pages stay cheap."""
        day_start = self.specs[symbol].listed_ms + day * DAY_MS
        opens = day_start + np.arange(0, MINUTES_PER_DAY, grain_minutes, dtype=np.int64) * MINUTE_MS
        return _buckets(self._day(symbol, day), opens)

    def _bounds(self, symbol: str, unit_ms: int) -> tuple[int, int]:
        """First and last open times (inclusive) of the ``unit_ms`` candles that exist for ``symbol`` now."""
        spec = self.specs[symbol]
        last = self.now_ms() // unit_ms * unit_ms
        if spec.delisted_ms is not None:
            last = min(last, spec.delisted_ms - unit_ms)
        return spec.listed_ms, last

    def _units(self, symbol: str, start: int, end: int, grain_ms: int = MINUTE_MS) -> Candles:
        """Candles opening in [start, end): seconds, minutes, or whole days at ``grain_ms`` (a divisor of a day)."""
        unit_ms = SECOND_MS if grain_ms == SECOND_MS else MINUTE_MS
        first, last = self._bounds(symbol, unit_ms)
        start, end = max(start, first), min(end, last + unit_ms)
        if start >= end:
            return {f: np.empty(0, dtype=np.int64) for f in FIELDS}
        listed = self.specs[symbol].listed_ms
        parts = []
        for day in range((start - listed) // DAY_MS, (end - 1 - listed) // DAY_MS + 1):
            day_start = listed + day * DAY_MS
            if grain_ms > MINUTE_MS and start <= day_start and day_start + DAY_MS <= end:
                parts.append(self._coarse(symbol, day, grain_ms // MINUTE_MS))
                continue
            units = self._seconds(symbol, day) if unit_ms == SECOND_MS else self._day(symbol, day)
            lo, hi = np.searchsorted(units["open_time"], [start, end])
            parts.append({f: v[lo:hi] for f, v in units.items()})
        return {f: np.concatenate([p[f] for p in parts]) for f in FIELDS}

    def floor(self, symbol: str, ms: int, interval: str) -> int:
        """Open time of ``symbol``'s ``interval`` candle containing ``ms`` (3d: counted from its listing day)."""
        if interval == "3d":
            origin, step = self.specs[symbol].listed_ms, FIXED_MS["3d"]
            return origin + (ms - origin) // step * step
        return floor_open(ms, interval)

    def bucket_opens(self, symbol: str, interval: str, start: int | None, end: int | None, limit: int) -> np.ndarray:
        """Open times of the grid buckets Binance would consider, following its startTime/endTime/limit rules."""
        first, last = self._bounds(symbol, SECOND_MS if interval == "1s" else MINUTE_MS)
        if last < first:
            return np.empty(0, dtype=np.int64)
        lo, hi = self.floor(symbol, first, interval), self.floor(symbol, last, interval)
        if end is not None:
            hi = min(hi, self.floor(symbol, end, interval))
        if start is not None:
            aligned = self.floor(symbol, start, interval)
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
        """Up to ``limit`` candles that exist, as columns (``FIELDS`` plus ``close_time``) in 1e-8 units.

        With ``start``, the oldest from it on: buckets an outage emptied do not count against ``limit``.
        """
        tables, remaining = [], limit
        while remaining > 0:
            opens = self.bucket_opens(symbol, interval, start, end, remaining)
            if len(opens) == 0:
                break
            table = self._candles(symbol, interval, opens)
            tables.append(table)
            if start is None or len(opens) < remaining:
                break
            remaining -= len(table["open_time"])
            start = next_open(int(opens[-1]), interval)
        if not tables:
            return {f: np.empty(0, dtype=np.int64) for f in (*FIELDS, "close_time")}
        return {f: np.concatenate([t[f] for t in tables]) for f in tables[0]}

    def _candles(self, symbol: str, interval: str, opens: np.ndarray) -> Candles:
        """The candles of the buckets opening at ``opens`` that have at least one minute (or second)."""
        stop = next_open(int(opens[-1]), interval)
        step = FIXED_MS.get(interval, DAY_MS)
        grain = step if DAY_MS % step == 0 else DAY_MS
        table = _buckets(self._units(symbol, int(opens[0]), stop, grain), opens)
        bucket_ends = np.append(opens[1:], stop) if interval == "1M" else opens + step
        bucket_ends = bucket_ends[np.isin(opens, table["open_time"])]
        unit_end = table["last_open"] + (SECOND_MS if interval == "1s" else MINUTE_MS)
        cut_short = (unit_end < bucket_ends) & self.in_outage(symbol, unit_end)
        table["close_time"] = np.where(cut_short, unit_end, bucket_ends) - 1
        return table

    def minutes(self, symbol: str, start: int, end: int) -> Candles:
        """The one-minute candles opening in [start, end) that exist now."""
        return self._units(symbol, start, end)


def _buckets(units: Candles, opens: np.ndarray) -> Candles:
    """``units`` collapsed into the buckets that start at ``opens``; buckets without a unit are left out."""
    starts = np.searchsorted(units["open_time"], opens)
    present = starts < np.append(starts[1:], len(units["open_time"]))
    table = aggregate(units, starts[present])
    table["open_time"] = opens[present]
    return table


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
        **{f: np.add.reduceat(units[f], starts) for f in SUMS},
        "last_open": units["last_open"][ends],
    }
