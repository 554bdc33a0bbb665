"""How a kline window is cut into chunks: whole months and whole days (archive files) and the rest (REST).

Every chunk becomes one raw file, one staging CSV and one load transaction, so memory and transaction
size stay bounded by a month of candles whatever the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from include.intervals import DAY_MS, FIXED_MS, month_start

# Archives exist for intervals that tile a UTC day; 3d, 1w and 1M candles straddle file boundaries.
ARCHIVE_INTERVALS = frozenset(name for name, step in FIXED_MS.items() if DAY_MS % step == 0)


@dataclass(frozen=True)
class Chunk:
    """[start_ms, end_ms) of one window piece; ``archive`` is "monthly", "daily" or None (REST only)."""

    start_ms: int
    end_ms: int
    archive: str | None

    @property
    def label(self) -> str:
        """A file-name-safe name: ``2024-02``, ``2024-02-03`` or ``2024-02-03T0600_2024-02-04T0000``."""
        start, end = (datetime.fromtimestamp(ms / 1000, UTC) for ms in (self.start_ms, self.end_ms))
        if self.archive:
            return start.strftime("%Y-%m" if self.archive == "monthly" else "%Y-%m-%d")
        return f"{start:%Y-%m-%dT%H%M}_{end:%Y-%m-%dT%H%M}"


def chunks(start_ms: int, end_ms: int, interval: str, complete_before_ms: int) -> list[Chunk]:
    """Split [start_ms, end_ms) at month and day boundaries.

    A whole month, or a whole day outside one, ending by ``complete_before_ms`` (a period is archived only
    once it is over) may come from an archive file; everything else comes from REST.
    """
    archived = interval in ARCHIVE_INTERVALS
    pieces: list[Chunk] = []
    cursor = start_ms
    while cursor < end_ms:
        month_end = min(month_start(cursor, 1), end_ms)
        if archived and cursor == month_start(cursor) and month_end == month_start(cursor, 1):
            pieces.append(Chunk(cursor, month_end, "monthly" if month_end <= complete_before_ms else None))
        else:
            pieces += _days(cursor, month_end, archived, complete_before_ms)
        cursor = month_end
    return pieces


def _days(start_ms: int, end_ms: int, archived: bool, complete_before_ms: int) -> list[Chunk]:
    pieces: list[Chunk] = []
    cursor = start_ms
    while cursor < end_ms:
        day_end = min((cursor // DAY_MS + 1) * DAY_MS, end_ms)
        whole = archived and cursor % DAY_MS == 0 and day_end - cursor == DAY_MS and day_end <= complete_before_ms
        if whole or not pieces or pieces[-1].archive:
            pieces.append(Chunk(cursor, day_end, "daily" if whole else None))
        else:  # consecutive REST days merge into one chunk
            pieces[-1] = Chunk(pieces[-1].start_ms, day_end, None)
        cursor = day_end
    return pieces
