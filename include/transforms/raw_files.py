"""Raw kline chunk files, as the extract writes them and the transform reads them: REST pages as JSON lines
(``<label>.jsonl``) or an archive's CSV as published (``<label>.csv``), each written atomically
(``staging.replacing``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from include.transforms import archive
from include.transforms.staging import replacing


def write_pages(path: Path, pages: Iterable[list[list[Any]]]) -> int:
    """Pages of klines as JSON lines; returns the number of klines."""
    count = 0
    with replacing(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for page in pages:
            handle.write(json.dumps(page, separators=(",", ":")) + "\n")
            count += len(page)
    return count


def write_archive_csv(path: Path, text: bytes) -> int:
    """An archive's kline CSV as it was published; returns the number of klines (lines opening with a digit)."""
    with replacing(path) as tmp:
        tmp.write_bytes(text)
    return sum(1 for line in text.splitlines() if line.lstrip()[:1].isdigit())


def read_rows(path: Path) -> list[list[Any]]:
    """All klines of one raw chunk file, typed as the REST API sends them."""
    if path.suffix == ".csv":
        return archive.csv_rows(path.read_bytes())
    with path.open(encoding="utf-8") as handle:
        return [row for line in handle for row in json.loads(line)]
