"""The binance_file_inbox DAG's steps: list the inbox, load one file all-or-nothing, file it away.

Only regular files of this user are read (a symbolic link, a folder, a device or another user's file is left
alone and logged), never past ``BINANCE_ETL_MAX_INBOX_MB``; a file that cannot be loaded, for whatever reason
in the file itself, ends in ``rejected/`` beside a reason that names the problem, never the file's content.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from binance_airflow.etl.run_folder import run_dir
from binance_airflow.warehouse.connection import warehouse_hook
from binance_airflow.warehouse.loads import upsert_csv
from binance_airflow.warehouse.tables import TABLES
from include import settings
from include.intervals import HOUR_MS
from include.transforms import dim_date
from include.transforms.file_sources import FileRejected, ParsedFile, parse
from include.transforms.staging import write_csv

log = logging.getLogger(__name__)
PROCESSED, REJECTED, IGNORED = "processed", "rejected", "ignored"
NAME_BYTES = 255  # a file name's limit on common file systems
TARGETS = ("fact_kline", "fact_balance")  # the tables inbox files load


class NotOurFile(Exception):
    """An inbox entry that is not a regular file of this user (a link, a folder, a device, another's file)."""


def _ours(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()


def pending_files(inbox: Path) -> list[str]:
    """Regular files of this user waiting in the inbox (not hidden, not in processed/ or rejected/), oldest
    first; anything else there is left alone, and logged."""
    inbox.mkdir(parents=True, exist_ok=True)
    waiting, ignored = [], []
    for entry in os.scandir(inbox):
        if entry.name.startswith(".") or entry.name in (PROCESSED, REJECTED):
            continue
        info = entry.stat(follow_symlinks=False)
        if _ours(info):
            waiting.append((info.st_mtime, entry.name))
        else:
            ignored.append(repr(entry.name)[:80])
    if ignored:
        log.warning(
            "inbox: ignored %d entries that are not regular files of this user: %s", len(ignored), ", ".join(ignored)
        )
    return [str(inbox / name) for _, name in sorted(waiting)]


def read_file(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of ``path``, opened without following a link: ``NotOurFile`` unless it is a regular file of this
    user; ``FileRejected`` past ``max_bytes`` (``settings.MAX_INBOX_FILE_BYTES``), read no further than that."""
    limit = settings.MAX_INBOX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        raise NotOurFile(f"cannot be opened as a file ({err.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not _ours(info):
            raise NotOurFile("not a regular file of this user")
        data = handle.read(limit + 1)
    if info.st_size > limit or len(data) > limit:
        raise FileRejected(
            f"{max(info.st_size, len(data))} bytes or more, past the {limit} an inbox file may have "
            "(BINANCE_ETL_MAX_INBOX_MB); not read"
        )
    return data


def ingest(path: Path, run_id: str) -> dict[str, Any]:
    """Validate and load one file, then move it to processed/ or, with a reason file, to rejected/.

    A database error propagates (the task retries and the file stays in the inbox); anything wrong with the
    file itself (unreadable, over-size, nested too deeply, a parser failing in any way, a row invalid) rejects
    it whole: nothing of it is loaded. A link or another user's file swapped in meanwhile is left alone.
    """
    try:
        data = read_file(path)
    except NotOurFile as err:
        log.warning("inbox: left %r alone: %s", path.name, err)
        return {"file": path.name, "status": IGNORED, "reason": str(err)}
    except FileRejected as err:
        return _reject(path, str(err))
    try:
        parsed = parse(path.name, data, int(datetime.now(UTC).timestamp() * 1000))
    except FileRejected as err:
        return _reject(path, str(err))
    except Exception as err:  # any parser failure (recursion, memory, a library's own error) is the file's
        return _reject(path, f"could not be parsed ({type(err).__name__})")
    try:
        loaded = _load(parsed, path, run_id)
    except FileRejected as err:
        return _reject(path, str(err))
    target = _file_away(path, PROCESSED)
    log.info("loaded %s: %d %s rows into %s", path.name, loaded["rows_in"], parsed.kind, loaded["table"])
    return {"file": path.name, "status": PROCESSED, "kind": parsed.kind, **loaded, "moved_to": str(target)}


def _load(parsed: ParsedFile, path: Path, run_id: str) -> dict[str, Any]:
    hook = warehouse_hook()
    staging = run_dir(run_id, "binance_file_inbox")
    batch = f"{run_id}:{path.name}"
    table = TARGETS[parsed.kind == "balances"]
    if table == "fact_kline":
        _require_known_symbols(hook, sorted({row[0] for row in parsed.rows}))
        assert parsed.hours is not None
        first, last = parsed.hours
        _upsert(hook, "dim_date", staging, path, dim_date.hours(first, last + HOUR_MS), batch)
    return _upsert(hook, table, staging, path, parsed.rows, batch)


def _upsert(
    hook: Any, table: str, staging: Path, path: Path, rows: list[tuple[Any, ...]], batch: str
) -> dict[str, Any]:
    """Stage ``rows`` of ``table`` as a CSV and upsert it in one transaction (columns and key as the API path's)."""
    csv_path = staging / fitting(f"{table}.{path.name}.csv", NAME_BYTES)
    written = write_csv(csv_path, TABLES[table].columns, rows)
    return upsert_csv(hook, TABLES[table], csv_path, written, batch).as_dict()


def _require_known_symbols(hook: Any, symbols: list[str]) -> None:
    placeholders = ", ".join(["%s"] * len(symbols))
    known = {
        s
        for (s,) in hook.get_records(
            f"SELECT symbol FROM dim_symbol WHERE symbol IN ({placeholders})", parameters=symbols
        )
    }
    unknown = [s for s in symbols if s not in known]
    if unknown:
        raise FileRejected(f"symbols not in dim_symbol: {', '.join(unknown)} (load them once with binance_etl)")


def _reject(path: Path, reason: str) -> dict[str, Any]:
    target = _file_away(path, REJECTED)
    target.with_name(target.name + ".reason.txt").write_text(f"{path.name}: {reason}\n", encoding="utf-8")
    log.warning("rejected %s: %s", path.name, reason)
    return {"file": path.name, "status": REJECTED, "reason": reason, "moved_to": str(target)}


def fitting(name: str, max_bytes: int) -> str:
    """``name`` if it fits in ``max_bytes`` (UTF-8), else its head, ``~``, 12 hex digits of its SHA-256 and its
    suffix: distinct names stay distinct, and the file system takes it."""
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= max_bytes:
        return name
    suffix = Path(name).suffix.encode("utf-8", "surrogateescape")[:16]
    digest = hashlib.sha256(encoded).hexdigest()[:12].encode()
    head = encoded[: max_bytes - len(suffix) - len(digest) - 1]
    return (head + b"~" + digest + suffix).decode("utf-8", "ignore")


def _file_away(path: Path, folder: str) -> Path:
    """Move ``path`` into ``folder`` beside it, stamped so a re-sent file never overwrites an earlier one, under
    a name short enough for the stamp and the ``.reason.txt`` beside it."""
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-"
    target = path.parent / folder / (stamp + fitting(path.name, NAME_BYTES - len(stamp) - len(".reason.txt")))
    target.parent.mkdir(exist_ok=True)
    os.replace(path, target)
    return target


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "event": "inbox_summary",
        "processed": [r["file"] for r in results if r["status"] == PROCESSED],
        "rejected": {r["file"]: r["reason"] for r in results if r["status"] == REJECTED},
        "ignored": [r["file"] for r in results if r["status"] == IGNORED],
        "rows": sum(r.get("rows_in", 0) for r in results),
    }
