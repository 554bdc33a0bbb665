"""The simulator's own data in the data.binance.vision layout: kline zips and their ``.CHECKSUM`` files.

A file exists once its month or day is over and the symbol traded in it; monthly and daily files
are served for the intervals that tile a day. Files dated 2025-01-01 or later carry µs timestamps.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import UTC, datetime
from functools import lru_cache

from include.binance_sim.market import Market
from include.binance_sim.payloads import klines_csv
from include.intervals import DAY_MS, FIXED_MS, month_start
from include.kline_periods import ARCHIVE_INTERVALS

_PATH = re.compile(
    r"^/data/spot/(monthly|daily)/klines/([A-Z0-9]+)/([0-9a-z]+)/\2-\3-(\d{4}-\d{2}(?:-\d{2})?)\.zip(\.CHECKSUM)?$"
)
MICROSECONDS_FROM_MS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)


class ArchiveStore:
    """Builds (and caches) archive files on demand from a ``Market``."""

    def __init__(self, market: Market, cached_files: int = 48):
        self.market = market
        self._zip = lru_cache(maxsize=cached_files)(self._build)

    def get(self, path: str) -> tuple[bytes, str] | None:
        """Body and content type of the file at ``path``, or None when there is no such file."""
        match = _PATH.match(path)
        if not match:
            return None
        period, symbol, name, label, checksum = match.groups()
        if (
            symbol not in self.market.specs
            or name not in ARCHIVE_INTERVALS
            or len(label) != (7 if period == "monthly" else 10)
        ):
            return None
        try:
            start = int(
                datetime.fromisoformat(label + ("-01" if period == "monthly" else "")).replace(tzinfo=UTC).timestamp()
                * 1000
            )
        except ValueError:
            return None
        end = month_start(start, 1) if period == "monthly" else start + DAY_MS
        if end > self.market.now_ms() // DAY_MS * DAY_MS:
            return None  # the period is not over: not published yet
        content = self._zip(symbol, name, start, end, f"{symbol}-{name}-{label}")
        if content is None:
            return None
        if checksum:
            return f"{hashlib.sha256(content).hexdigest()}  {symbol}-{name}-{label}.zip\n".encode(), "text/plain"
        return content, "application/zip"

    def _build(self, symbol: str, interval: str, start: int, end: int, stem: str) -> bytes | None:
        count = (end - start) // FIXED_MS[interval]
        table = self.market.klines(symbol, interval, start, end - 1, count)
        if len(table["open_time"]) == 0:
            return None
        member = zipfile.ZipInfo(f"{stem}.csv", date_time=datetime.fromtimestamp(end / 1000, UTC).timetuple()[:6])
        member.compress_type = zipfile.ZIP_DEFLATED
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:  # a fixed member date keeps rebuilt files byte-identical
            archive.writestr(member, klines_csv(table, microseconds=start >= MICROSECONDS_FROM_MS), compresslevel=1)
        return buffer.getvalue()
