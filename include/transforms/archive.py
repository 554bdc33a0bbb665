"""data.binance.vision kline archives: file names, SHA-256 checksums, and CSV rows as API-typed klines."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from typing import Any

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


def csv_member(content: bytes, name: str) -> bytes:
    """The kline CSV inside an archive zip (ASCII, one member), or ``ArchiveIntegrityError`` saying why not."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.namelist()
            if len(members) != 1:
                raise ArchiveIntegrityError(f"{name}: expected one CSV inside, found {members}")
            text = archive.read(members[0])
    except zipfile.BadZipFile as err:
        raise ArchiveIntegrityError(f"{name}: not a readable kline archive ({err})") from None
    if not text.isascii():
        raise ArchiveIntegrityError(f"{name}: not a readable kline archive (not ASCII text)")
    return text


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
