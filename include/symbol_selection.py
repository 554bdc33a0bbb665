"""Which symbols a run loads: names and patterns (``*USDT``) resolved against exchangeInfo, and the batches
its kline tasks map over (bounded, so 2,000 symbols make as many task instances as 64 do)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from include.validation import InvalidValue

NAME = re.compile(r"^[A-Z0-9]{2,20}$")
PATTERN = re.compile(r"^[A-Z0-9*?]{1,20}$")


def is_pattern(text: str) -> bool:
    return "*" in text or "?" in text


def check(text: str, patterns: bool = True) -> None:
    """ValueError unless ``text`` is a symbol name (BTCUSDT) or, with ``patterns``, a pattern (``*USDT``)."""
    if NAME.match(text) or (patterns and is_pattern(text) and PATTERN.match(text)):
        return
    also = ", or a pattern with * and ? such as *USDT (every trading symbol quoted in USDT)" if patterns else ""
    expected = f"expected 2-20 letters/digits such as BTCUSDT{also}"
    raise InvalidValue(f"invalid symbol {text!r}: {expected}", f"invalid symbol: {expected}")


def is_name(value: Any) -> bool:
    """True for a symbol name (BTCUSDT) as this package accepts one, whoever sent it."""
    return isinstance(value, str) and NAME.match(value) is not None


def not_names(listed: Iterable[Mapping[str, Any]]) -> list[str]:
    """The entries of ``listed`` (exchangeInfo's ``symbols``) whose name is no symbol name, as ``repr``s cut to
    40 characters: what a log may show of a name a server sent."""
    return [repr(s.get("symbol"))[:40] for s in listed if not is_name(s.get("symbol"))]


def expand(requested: Iterable[str], listed: Iterable[Mapping[str, Any]], any_status: bool = False) -> list[str]:
    """``requested`` with each pattern replaced by the TRADING symbols of ``listed`` (exchangeInfo's
    ``symbols``) it matches (``any_status``: the symbols of any status, delisted ones included), in name order;
    names stay as given; no symbol twice. A listed name that is not a symbol name (SQL, a path: what a hostile
    server may send) is never selected (see ``not_names``).

    ValueError names a pattern that matches no such symbol.
    """
    kind = "listed" if any_status else "TRADING"
    candidates = sorted(
        s["symbol"] for s in listed if (any_status or s.get("status") == "TRADING") and is_name(s.get("symbol"))
    )
    resolved: dict[str, None] = {}
    for item in requested:
        if not is_pattern(item):
            resolved[item] = None
            continue
        matches = [symbol for symbol in candidates if fnmatch.fnmatchcase(symbol, item)]
        if not matches:
            raise ValueError(f"symbol pattern {item!r} matches no {kind} symbol on Binance")
        resolved.update(dict.fromkeys(matches))
    return list(resolved)


def batches(symbols: list[str], max_batches: int) -> list[list[str]]:
    """``symbols`` in at most ``max_batches`` consecutive batches whose sizes differ by at most one."""
    if not 1 <= max_batches <= 1024:
        raise ValueError(f"kline batches per run must be 1 to 1024 (Airflow's max_map_length), got {max_batches}")
    count = min(len(symbols), max_batches)
    size, larger = divmod(len(symbols), count) if count else (0, 0)
    out, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < larger else 0)
        out.append(symbols[start:end])
        start = end
    return out


def label(batch: list[str]) -> str:
    """A batch as the UI shows its task instance: ``BTCUSDT`` or ``AAVEUSDT … ADAUSDT (32)``."""
    return batch[0] if len(batch) == 1 else f"{batch[0]} … {batch[-1]} ({len(batch)})"
