"""Staging CSV files: written atomically (temp file + rename), NULL as ``\\N`` for LOAD DATA."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

NULL = r"\N"


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new temporary file beside ``path`` (its folder created) that replaces ``path`` when the block ends;
    when the block raises it is removed and ``path`` stays as it was: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write ``rows`` under ``header`` to ``path`` atomically; return the number of rows written."""
    count = 0
    with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(NULL if value is None else value for value in row)
            count += 1
    return count


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a staging CSV (used to check files before loading and in tests)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def write_json(path: Path, payload: object) -> None:
    """Write ``payload`` as JSON to ``path`` atomically."""
    with replacing(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, separators=(",", ":"))


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
