"""data.binance.vision kline archives: file names, SHA-256 checksums, and CSV rows as API-typed klines."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from typing import Any

from include import settings

MICROSECONDS = 10**14  # spot archives dated 2025-01-01 or later carry µs timestamps (16 digits)


class ArchiveIntegrityError(Exception):
    """An archive file does not match its published checksum, or is not a readable kline zip."""


def path(symbol: str, interval: str, period: str, label: str) -> str:
    """``/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02.zip`` (``period`` "monthly" or "daily").

    Archives name the monthly interval ``1mo`` where the API says ``1M``.
    """
    name = "1mo" if interval == "1M" else interval
    return f"/data/spot/{period}/klines/{symbol}/{name}/{symbol}-{name}-{label}.zip"


def verify(content: bytes, checksum_file: str, name: str) -> None:
    """Check ``content`` against a ``sha256sum`` line (``<64 hex>  <name>``); raise naming both digests."""
    parts = checksum_file.split()
    if len(parts) != 2 or len(parts[0]) != 64 or parts[1].lstrip("*") != name:
        raise ArchiveIntegrityError(f"{name}.CHECKSUM is not a sha256sum line for {name}: {checksum_file[:120]!r}")
    actual = hashlib.sha256(content).hexdigest()
    if actual != parts[0].lower():
        raise ArchiveIntegrityError(
            f"{name}: SHA-256 {actual} does not match the published {parts[0].lower()}; the file is corrupt or was "
            "replaced - nothing from it was used"
        )


def _ms(value: str) -> int:
    number = int(value)
    return number // 1000 if number >= MICROSECONDS else number


def csv_member(
    content: bytes,
    name: str,
    max_bytes: int | None = None,
    max_ratio: float | None = None,
) -> bytes:
    """The kline CSV inside an archive zip (ASCII, one member), or ``ArchiveIntegrityError`` saying why not.

    Bounded: a member whose declared size passes ``max_bytes``, or that expands more than ``max_ratio`` times,
    is refused before it is read, and the read itself stops after ``max_bytes`` (a zip may lie about sizes).
    Unset, both limits are the settings' (``BINANCE_ETL_MAX_ARCHIVE_MB``, ``BINANCE_ETL_MAX_ARCHIVE_RATIO``).
    """
    max_bytes = settings.MAX_ARCHIVE_MEMBER_BYTES if max_bytes is None else max_bytes
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) != 1:
                raise ArchiveIntegrityError(f"{name}: expected one CSV inside, found {len(members)} members")
            check_zip(archive, name, max_bytes, max_ratio)
            with archive.open(members[0]) as stream:
                text = stream.read(max_bytes + 1)
            _check_size(name, len(text), max(members[0].compress_size, 1), max_bytes, max_ratio)
    except zipfile.BadZipFile as err:
        raise ArchiveIntegrityError(f"{name}: not a readable kline archive ({err})") from None
    if not text.isascii():
        raise ArchiveIntegrityError(f"{name}: not a readable kline archive (not ASCII text)")
    return text


def check_zip(
    archive: zipfile.ZipFile, name: str, max_bytes: int | None = None, max_ratio: float | None = None
) -> None:
    """``ArchiveIntegrityError`` unless the zip's members, as declared, stay within ``max_bytes`` together and
    each expands at most ``max_ratio`` times (the settings' limits when unset): checked before anything is read."""
    max_bytes = settings.MAX_ARCHIVE_MEMBER_BYTES if max_bytes is None else max_bytes
    members = archive.infolist()
    compressed = max(sum(m.compress_size for m in members), 1)
    _check_size(name, sum(m.file_size for m in members), compressed, max_bytes, max_ratio)
    for member in members:
        _check_size(name, member.file_size, max(member.compress_size, 1), max_bytes, max_ratio)


def _check_size(name: str, size: int, compressed: int, max_bytes: int, max_ratio: float | None) -> None:
    max_ratio = settings.MAX_ARCHIVE_RATIO if max_ratio is None else max_ratio
    if size > max_bytes:
        raise ArchiveIntegrityError(
            f"{name}: its content is {size} bytes or more, past the {max_bytes} bytes read from one archive "
            "(BINANCE_ETL_MAX_ARCHIVE_MB); nothing from it was used"
        )
    if size / compressed > max_ratio:
        raise ArchiveIntegrityError(
            f"{name}: its content expands {size / compressed:.0f} times, past the {max_ratio:.0f} accepted "
            "(BINANCE_ETL_MAX_ARCHIVE_RATIO; kline CSVs compress 3-10 times); nothing from it was used"
        )


def csv_rows(text: bytes) -> list[list[Any]]:
    """The klines of an archive's CSV, typed as the REST API sends them (ints for times and trades).

    Tolerates a header row (futures files have one) and normalises microsecond timestamps to ms.
    """
    rows = [typed_row(line) for line in csv.reader(io.StringIO(text.decode("ascii")))]
    return [row for row in rows if row is not None]


def typed_row(line: list[str]) -> list[Any] | None:
    """One CSV line as a REST-typed kline; None for a header or blank line; the line itself (text) when its
    numbers do not parse, for the transform to reject with the reason."""
    if not line or not line[0].strip().isdigit():
        return None
    try:
        return [_ms(line[0]), *line[1:6], _ms(line[6]), line[7], int(line[8]), *line[9:12]]
    except (ValueError, IndexError):
        return line
