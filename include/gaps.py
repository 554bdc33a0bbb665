"""Holes in a symbol's candle series: where candles are missing between what the exchange is expected to have.

Pure arithmetic on open times (ms), no I/O. A series is described by its first and last loaded open
time and by every jump between consecutive candles wider than one interval, which is what a warehouse
query returns cheaply however long the series. Grids follow ``include.intervals``; on grids whose
phase Binance does not document (3d, 1w) the phase is taken from a candle of the series itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.intervals import FIXED_MS, UNANCHORED, floor_open, month_start, next_open


@dataclass(frozen=True)
class Hole:
    """``candles`` missing candles, the first opening at ``first_ms``; the hole ends at ``end_ms`` (exclusive)."""

    first_ms: int
    end_ms: int
    candles: int

    def last_ms(self, interval: str) -> int:
        """Open time of the last missing candle."""
        if interval == "1M":
            return month_start(self.first_ms, self.candles - 1)
        return self.first_ms + (self.candles - 1) * FIXED_MS[interval]


def grid(start_ms: int, end_ms: int, interval: str, anchor_ms: int) -> Hole | None:
    """The grid open times in [start_ms, end_ms) as a Hole, or None when there is none.

    ``anchor_ms`` is any open time of the series; it fixes the phase of 3d and 1w grids.
    """
    if start_ms >= end_ms:
        return None
    if interval == "1M":
        first = start_ms if month_start(start_ms) == start_ms else month_start(start_ms, 1)
        count = 0
        while month_start(first, count) < end_ms:
            count += 1
        return Hole(first, end_ms, count) if count else None
    step = FIXED_MS[interval]
    origin = anchor_ms if interval in UNANCHORED else floor_open(start_ms, interval)
    first = origin + -(-(start_ms - origin) // step) * step  # the first grid time >= start_ms
    count = -(-(end_ms - first) // step)
    return Hole(first, end_ms, count) if count > 0 else None


def unbroken(interval: str, count: int, first: int, last: int, phases: tuple[int, int]) -> bool:
    """True when a loaded series certainly has no jump: ``count`` candles from ``first`` to ``last`` whose open
    times modulo the interval's width range over ``phases`` (min, max). All on one phase and as many as the
    grid points from first to last: every consecutive pair is exactly one interval apart. Months vary in
    width, so a 1M series is never known unbroken this way."""
    step = FIXED_MS.get(interval)
    return step is not None and phases[0] == phases[1] and count == (last - first) // step + 1


def find_holes(
    interval: str,
    expected_start: int,
    expected_end: int,
    first: int | None,
    last: int | None,
    jumps: list[tuple[int, int]],
    anchor_ms: int | None = None,
) -> list[Hole]:
    """Missing candles of a series expected to cover [expected_start, expected_end).

    ``first``/``last`` are its first and last loaded open times (None when nothing is loaded; then
    ``anchor_ms``, e.g. the exchange's first candle, fixes a 3d/1w grid), ``jumps`` the (previous,
    next) open times of consecutive loaded candles further apart than one interval.
    """
    if first is None or last is None:
        hole = grid(expected_start, expected_end, interval, expected_start if anchor_ms is None else anchor_ms)
        return [hole] if hole else []
    spans = [(expected_start, first, first)]
    spans += [(next_open(previous, interval), following, previous) for previous, following in sorted(jumps)]
    spans.append((next_open(last, interval), expected_end, last))
    return [hole for start, end, anchor in spans if (hole := grid(start, end, interval, anchor))]
