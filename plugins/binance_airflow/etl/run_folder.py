"""A run's folder: where its tasks hand files to each other (``raw/`` captures, ``staging/`` CSVs), one per run id."""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

from include import settings

_SAFE = frozenset(string.ascii_letters + string.digits + "_-")


def run_dir(run_id: str, dag_id: str = "binance_etl") -> Path:
    """Run-scoped staging folder of a DAG, always a direct child of ``<staging root>/<dag_id>``.

    The folder name encodes the run id injectively: letters, digits, ``_`` and ``-`` stay, every other
    byte becomes ``%XX`` (``.`` and ``%`` included), behind a ``run-`` prefix; a name that would pass
    the file-system limit keeps a readable head and the run id's SHA-256 behind a ``long-`` prefix.
    """
    escaped = "".join(
        char if char in _SAFE else "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))
        for char in run_id
    )
    name = f"run-{escaped}"
    if len(name) > 200:
        name = f"long-{escaped[:120]}-{hashlib.sha256(run_id.encode('utf-8', 'surrogatepass')).hexdigest()}"
    return settings.STAGING_ROOT / dag_id / name


def inside(folder: Path, *parts: str) -> Path:
    """``folder / parts``, refused (ValueError) unless it stays inside ``folder``: a name from a server or a file
    joined into a path must never reach outside the run's folder."""
    path = folder.joinpath(*parts)
    if not path.resolve().is_relative_to(folder.resolve()) or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"refusing the path {path!r}: it leaves {folder}")
    return path


def raw_capture(folder: Path, capture: str) -> Path:
    """Where the run keeps a raw capture (``exchange_info``, ``ticker_24hr``, ``account``) as Binance sent it."""
    return folder / "raw" / f"{capture}.json"
