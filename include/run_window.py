"""What one DAG run covers: symbols, interval and the [start, end) window, from params and the data interval."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from include.intervals import DAY_MS, floor_open, to_ms, validate_interval
from include.run_periods import day_floor

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}$")


@dataclass(frozen=True)
class RunWindow:
    symbols: list[str]
    interval: str
    start_ms: int
    end_ms: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_recent(self) -> bool:
        """True when the window ends within two days of now: live snapshots (ticker, balances) make sense."""
        return datetime.now(UTC).timestamp() * 1000 - self.end_ms <= 2 * DAY_MS


def normalise_symbols(symbols: Any) -> list[str]:
    """Upper-cased, de-duplicated symbols; ValueError names anything that is not a Binance symbol."""
    if isinstance(symbols, str):
        symbols = [s for s in re.split(r"[\s,]+", symbols) if s]
    if not isinstance(symbols, list) or not symbols:
        raise ValueError(f"param 'symbols' must be a non-empty list of symbols, got {symbols!r}")
    cleaned = []
    for symbol in symbols:
        text = str(symbol).strip().upper()
        if not SYMBOL_PATTERN.match(text):
            raise ValueError(f"invalid symbol {symbol!r}: expected 2-20 letters/digits such as BTCUSDT")
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
) -> RunWindow:
    """The run's window.

    Explicit ``start``/``end`` params win. Otherwise a scheduled run covers its data interval; a manual
    run (zero-width interval) covers the whole UTC day before its logical date. The end is clipped to
    the last closed candle, so a still-open candle is never loaded as final.
    """
    symbols = normalise_symbols(params.get("symbols"))
    interval = validate_interval(str(params.get("interval")))
    if params.get("start") or params.get("end"):
        if not (params.get("start") and params.get("end")):
            raise ValueError("params 'start' and 'end' go together: give both or neither")
        start, end = _parse_time(params["start"], "start"), _parse_time(params["end"], "end")
    elif interval_start is not None and interval_end is not None and interval_end > interval_start:
        start, end = interval_start, interval_end
    else:
        anchor = logical_date or datetime.now(UTC)
        end = day_floor(anchor)
        start = end - timedelta(days=1)
    start_ms, end_ms = to_ms(start), to_ms(end)
    end_ms = min(end_ms, floor_open(int(datetime.now(UTC).timestamp() * 1000), interval))
    if start_ms >= end_ms:
        raise ValueError(
            f"empty window: start {start.isoformat()} is not before end {end.isoformat()} "
            "(or the window lies in the future)"
        )
    return RunWindow(symbols, interval, start_ms, end_ms)
