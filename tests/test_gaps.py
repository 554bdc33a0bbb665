"""Finding holes in a candle series from its first and last open time and its jumps (pure, property-based)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from include.gaps import Hole, find_holes, grid, unbroken
from include.intervals import FIXED_MS, month_start

T0 = 1_704_067_200_000  # 2024-01-01T00:00Z, a Monday
INTERVALS = ["1m", "1h", "1d", "3d", "1w", "1M"]


def opens(interval: str, first: int, count: int) -> list[int]:
    if interval == "1M":
        return [month_start(first, i) for i in range(count)]
    return [first + i * FIXED_MS[interval] for i in range(count)]


@settings(max_examples=300, deadline=None)
@given(
    interval=st.sampled_from(INTERVALS),
    phase=st.integers(0, 2),
    size=st.integers(1, 60),
    data=st.data(),
)
def test_holes_are_exactly_the_missing_grid_candles_in_runs(interval: str, phase: int, size: int, data: st.DataObject):
    """Whatever is loaded out of an expected stretch of the grid, the holes list each missing candle once, grouped
    in maximal runs, each ending where the next loaded candle (or the expected end) is."""
    day = 86_400_000
    first_open = T0 + phase * day if interval == "3d" else T0  # a 3d grid on a phase of its own
    expected = opens(interval, first_open, size)
    present = sorted(data.draw(st.sets(st.sampled_from(expected))))
    expected_end = month_start(expected[-1], 1) if interval == "1M" else expected[-1] + FIXED_MS[interval]
    start_offset = data.draw(st.integers(0, 1)) * (1 if interval != "1M" else 0)  # a start just after a grid time
    expected_start = expected[0] - (FIXED_MS.get(interval, 1) - 1) * start_offset
    jumps = [(a, b) for a, b in itertools.pairwise(present) if expected.index(b) - expected.index(a) > 1]
    holes = find_holes(
        interval,
        expected_start,
        expected_end,
        present[0] if present else None,
        present[-1] if present else None,
        jumps,
        anchor_ms=first_open,
    )
    missing = [o for o in expected if o not in present]
    assert [o for h in holes for o in opens(interval, h.first_ms, h.candles)] == missing
    for hole in holes:
        later = [o for o in present if o > hole.first_ms]
        assert hole.end_ms == (later[0] if later else expected_end)
        assert hole.last_ms(interval) in missing


def test_a_window_starting_mid_candle_expects_the_next_grid_time():
    assert grid(T0 + 1, T0 + 3 * 3_600_000, "1h", 0) == Hole(T0 + 3_600_000, T0 + 3 * 3_600_000, 2)
    assert grid(T0, T0 + 3_600_000, "1h", 0) == Hole(T0, T0 + 3_600_000, 1)
    assert grid(T0 + 1, T0 + 3_600_000, "1h", 0) is None
    three_days = FIXED_MS["3d"]
    assert grid(T0, T0 + 2 * three_days, "3d", T0 + 86_400_000) == Hole(T0 + 86_400_000, T0 + 2 * three_days, 2)


def test_nothing_loaded_expects_the_whole_range():
    assert find_holes("1d", T0, T0 + 5 * 86_400_000, None, None, []) == [Hole(T0, T0 + 5 * 86_400_000, 5)]
    assert find_holes("1d", T0, T0, None, None, []) == []


def bounds(interval: str, loaded: list[int]) -> tuple[str, int, int, int, tuple[int, int]]:
    """What the warehouse's bounds query returns for ``loaded``: count, first, last, phase range."""
    phases = [o % FIXED_MS[interval] for o in loaded] if interval in FIXED_MS else [0, 1]
    return interval, len(loaded), min(loaded), max(loaded), (min(phases), max(phases))


@settings(max_examples=300, deadline=None)
@given(
    interval=st.sampled_from(INTERVALS),
    offsets=st.sets(st.integers(0, 40), min_size=1),
    unit=st.sampled_from([1, 60_000, 3_600_000, 86_400_000]),
)
def test_a_series_is_called_unbroken_only_when_no_two_consecutive_candles_are_more_than_an_interval_apart(
    interval: str, offsets: set[int], unit: int
):
    """Any open times at all, on the grid or off it: when the bounds say unbroken, the jumps query (which the
    reconciliation then skips) would have found nothing."""
    loaded = sorted(T0 + offset * unit for offset in offsets)
    if unbroken(*bounds(interval, loaded)):
        width = FIXED_MS[interval]
        assert all(b - a <= width for a, b in itertools.pairwise(loaded))


@given(interval=st.sampled_from(INTERVALS), size=st.integers(1, 500))
def test_a_complete_series_is_known_unbroken_without_looking_for_jumps_except_in_months(interval: str, size: int):
    assert unbroken(*bounds(interval, opens(interval, T0, size))) == (interval != "1M")
