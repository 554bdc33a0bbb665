"""What one DAG run covers: symbols, interval and the window of candle open times, from params or the period.

A scheduled (or backfill, or catchup) run for the period [a, b) loads the candles that *closed* in it,
after a and by b: with consecutive periods every candle is loaded by exactly one run, once it has
closed, whatever its interval (a 1w candle by the daily run of the Sunday it closes, a 1M candle by the
run of the month's last day). A window given as ``start``/``end`` params is taken by open time.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from include import symbol_selection
from include.intervals import DAY_MS, closed_bound, to_ms, validate_interval
from include.run_periods import day_floor


@dataclass(frozen=True)
class RunWindow:
    """Candles of ``symbols`` at ``interval`` opening in [start_ms, end_ms) (possibly none), as of ``as_of_ms``."""

    symbols: list[str]
    interval: str
    start_ms: int
    end_ms: int
    as_of_ms: int
    not_trading: list[str] = field(default_factory=list)  # of ``symbols``, those Binance no longer trades

    def as_dict(self) -> dict[str, Any]:
        """The window as XCom and Jinja carry it (the ``plan`` task's XCom ``window``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, window: dict[str, Any]) -> RunWindow:
        """The window a task received as XCom (``as_dict``): every task converts it once, where it starts."""
        return cls(**window)

    @property
    def is_recent(self) -> bool:
        """True when the run's period ends within two days of now: live snapshots (ticker, balances) make sense."""
        return datetime.now(UTC).timestamp() * 1000 - self.as_of_ms <= 2 * DAY_MS


def normalise_symbols(symbols: Any, patterns: bool = False) -> list[str]:
    """Upper-cased, de-duplicated symbols, and with ``patterns`` also patterns such as ``*USDT`` (resolved
    later against exchangeInfo); ValueError names anything else."""
    if isinstance(symbols, str):
        symbols = [s for s in re.split(r"[\s,]+", symbols) if s]
    if not isinstance(symbols, list) or not symbols:
        raise ValueError(f"param 'symbols' must be a non-empty list of symbols, got {symbols!r}")
    cleaned = []
    for symbol in symbols:
        text = str(symbol).strip().upper()
        symbol_selection.check(text, patterns)
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


def _parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"param {name!r} = {value!r} is not an ISO date or datetime (e.g. 2024-05-01)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve(
    params: dict[str, Any],
    interval_start: datetime | None,
    interval_end: datetime | None,
    logical_date: datetime | None,
    now: datetime | None = None,
) -> RunWindow:
    """The run's window (see the module docstring).

    Explicit ``start``/``end`` params win, by open time, clipped to the candles closed by ``now``; an
    empty result is an error. Otherwise the run's period is its data interval, or for a manual run
    (zero-width interval) the UTC day before its logical date, and the window holds the candles that
    closed in it by ``now``; that may be none (a 1w run on a Tuesday), which is not an error.
    """
    symbols = normalise_symbols(params.get("symbols"), patterns=True)
    interval = validate_interval(str(params.get("interval")))
    now_ms = to_ms(now or datetime.now(UTC))
    if params.get("start") or params.get("end"):
        if not (params.get("start") and params.get("end")):
            raise ValueError("params 'start' and 'end' go together: give both or neither")
        start, end = _parse_time(params["start"], "start"), _parse_time(params["end"], "end")
        start_ms, end_ms = to_ms(start), min(to_ms(end), closed_bound(now_ms, interval))
        if start_ms >= end_ms:
            raise ValueError(
                f"empty window: start {start.isoformat()} is not before end {end.isoformat()} "
                f"(or the window lies in the future: no {interval} candle in it has closed yet)"
            )
        return RunWindow(symbols, interval, start_ms, end_ms, min(to_ms(end), now_ms))
    if interval_start is not None and interval_end is not None and interval_end > interval_start:
        period_start, period_end = to_ms(interval_start), to_ms(interval_end)
    else:
        period_end = to_ms(day_floor(logical_date or datetime.now(UTC)))
        period_start = period_end - DAY_MS
    as_of = min(period_end, now_ms)
    start_ms = closed_bound(period_start, interval)
    return RunWindow(symbols, interval, start_ms, max(start_ms, closed_bound(as_of, interval)), as_of)
