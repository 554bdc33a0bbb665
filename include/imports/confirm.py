"""Legacy candles are claims the exchange can confirm: each is compared with Binance's candle of the same symbol,
interval and open time, and Binance's exact values are what is kept (pure; the caller fetches Binance's candles).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from include.imports.rows import Series
from include.transforms import klines

COMPARED = klines.ARRAY_FIELDS[1:]  # what a source claims of a candle besides its open time: compared by value
_AT = {name: klines.COLUMNS.index(name) for name in COMPARED}
_CLOSE = klines.COLUMNS.index("close_time")


@dataclass
class Confirmation:
    """What comparing one series with Binance found, and the rows to store."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejects: list[tuple[Any, ...]] = field(default_factory=list)
    equal: int = 0
    corrected: int = 0
    corrected_fields: Counter[str] = field(default_factory=Counter)
    not_served: int = 0
    open_dropped: int = 0

    def counts(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "corrected": self.corrected,
            "corrected_fields": dict(sorted(self.corrected_fields.items())),
            "not_served": self.not_served,
            "open_dropped": self.open_dropped,
        }


def _same(name: str, claimed: Any, actual: Any) -> bool:
    if claimed is None:
        return True  # the source did not say: Binance fills it in
    if name == "close_time":
        return claimed == actual
    return actual is not None and Decimal(str(claimed)) == Decimal(str(actual))


def differing(claimed: tuple[Any, ...], actual: tuple[Any, ...]) -> list[str]:
    """The fields a source's candle claims differently from Binance's."""
    return [name for name, at in _AT.items() if not _same(name, claimed[at], actual[at])]


def was_open(row: tuple[Any, ...], exported_ms: int) -> bool:
    """A candle closing at or after the moment its source was written was still open then."""
    return row[_CLOSE] >= klines.sql_datetime(exported_ms)  # one fixed-width format: text order is time order


def confirm(
    series: Series, served: list[list[Any]], exported_ms: int, now_ms: int, keep_not_served: bool
) -> Confirmation:
    """Compare ``series`` (a source's valid candles) with ``served`` (Binance's arrays over the same range).

    Binance's candle replaces each claim it covers (counted equal, or corrected with the fields that differed;
    a claim that was still open when its source was written counts as dropped, Binance's closed candle is
    kept). A claim Binance does not serve is kept with the source's provenance or rejected, per policy; a
    candle still open on Binance now is neither (the regular runs load it once it closes).
    """
    result = Confirmation()
    actual = {}
    for raw in served:
        row, reject = klines.row_or_reject(raw, series.symbol, series.interval, now_ms)
        if row is not None:
            actual[row[3]] = row
        elif reject is not None and reject[2] is not None:
            actual.setdefault(reject[2], None)
    for claim in series.rows:
        open_ms = claim[3]
        if open_ms not in actual:
            result.not_served += 1
            if open_ms in series.invalid:
                result.rejects.append(_reject(claim, f"Binance serves no candle here, and {series.invalid[open_ms]}"))
            elif keep_not_served:
                result.rows.append(claim)
            else:
                result.rejects.append(_reject(claim, "Binance serves no candle at this open time (policy: reject)"))
            continue
        truth = actual[open_ms]
        if truth is None:
            result.rejects.append(_reject(claim, "Binance's candle at this open time is still open or invalid"))
            continue
        result.rows.append(truth)
        fields = differing(claim, truth)
        if not fields:
            result.equal += 1
        elif was_open(claim, exported_ms):
            result.open_dropped += 1
        else:
            result.corrected += 1
            result.corrected_fields.update(fields)
    return result


def trusted(series: Series, exported_ms: int) -> Confirmation:
    """The source's own values, for data the exchange no longer has; candles still open when it was written are
    dropped (their final values are not in it)."""
    result = Confirmation()
    for claim in series.rows:
        if was_open(claim, exported_ms):
            result.open_dropped += 1
            result.rejects.append(_reject(claim, "still open when the source was written"))
        else:
            result.rows.append(claim)
    return result


def _reject(row: tuple[Any, ...], reason: str) -> tuple[Any, ...]:
    return (row[0], row[1], row[3], reason, repr(row)[:500])
