"""Klines and balances exported to CSV, JSON or XLSX files: read, recognise, validate (pure; no Airflow).

A file is a table with a header naming its columns (a JSON file: a list of objects, or ``{"rows": [...]}``):
- klines: ``symbol, interval, open_time, open, high, low, close, volume`` and optionally ``close_time,
  quote_volume, trades, taker_buy_base_volume, taker_buy_quote_volume``; times as epoch milliseconds or
  ISO UTC datetimes;
- balances: ``asset, free, locked, snapshot_time`` and optionally ``account`` (else the default account).
Rows go through the same validation as the API's (``klines.transform_klines``, ``snapshots.balance_rows``).
Any invalid row rejects the whole file with the reasons: a file is loaded completely or not at all. A reason
names the row and the problem, never the file's content (a header or a cell may hold anything, a secret too).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.intervals import next_open, validate_interval
from include.run_window import normalise_symbols
from include.settings import DEFAULT_ACCOUNT
from include.transforms import klines, snapshots
from include.transforms.archive import ArchiveIntegrityError, check_zip
from include.transforms.values import moment_ms
from include.validation import problem_of

SUFFIXES = (".csv", ".json", ".xlsx")
KLINE_REQUIRED = ("symbol", "interval", "open_time", "open", "high", "low", "close", "volume")
KLINE_OPTIONAL = ("close_time", "quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume")
BALANCE_REQUIRED = ("asset", "free", "locked", "snapshot_time")
MAX_REASONS = 20


class FileRejected(ValueError):
    """The file cannot be loaded; the message says why (every invalid row, up to ``MAX_REASONS``)."""


@dataclass(frozen=True)
class ParsedFile:
    kind: str  # "klines" or "balances"
    rows: list[tuple[Any, ...]]  # in klines.COLUMNS or snapshots.BALANCE_COLUMNS order
    hours: tuple[int, int] | None  # [first, last] open times (ms) of klines, for dim_date


def read_records(name: str, data: bytes, delimiter: str = ",", encoding: str = "utf-8") -> list[dict[str, Any]]:
    """The rows of the file ``name`` (its bytes ``data``) as dicts keyed by lower-cased header names (CSV:
    fields split by ``delimiter``, text in ``encoding``)."""
    suffix = Path(name).suffix.lower()
    kind = suffix[1:].upper()
    text_encoding = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        if suffix == ".csv":
            text = io.StringIO(data.decode(text_encoding), newline="")
            records = list(csv.DictReader(text, delimiter=delimiter))
        elif suffix == ".json":
            loaded = json.loads(data.decode("utf-8"))
            records = loaded.get("rows") if isinstance(loaded, dict) else loaded
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise FileRejected('a JSON file must hold a list of objects, or {"rows": [objects]}')
        elif suffix == ".xlsx":
            records = _xlsx_records(data)
        else:
            raise FileRejected(f"unsupported file type; expected one of {', '.join(SUFFIXES)}")
    except UnicodeDecodeError as err:
        raise FileRejected(f"cannot be read as {kind}: not {encoding} text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise FileRejected(f"cannot be read as JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except csv.Error:
        raise FileRejected("cannot be read as CSV: malformed quoting or fields") from None
    except RecursionError:
        raise FileRejected(f"cannot be read as {kind}: nested too deeply") from None
    if not records:
        raise FileRejected("the file holds no rows")
    return [{str(k).strip().lower(): v for k, v in record.items() if k is not None} for record in records]


def _xlsx_records(data: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as workbook_zip:
            check_zip(workbook_zip, "the workbook")  # an XLSX is a zip: bounded like an archive before it is read
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ArchiveIntegrityError as err:
        raise FileRejected(f"cannot be read as XLSX: {err}") from None
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as err:
        raise FileRejected(f"cannot be read as XLSX: not a readable workbook ({type(err).__name__})") from None
    try:
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        return []
    header = [str(name).strip() if name is not None else "" for name in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if any(v is not None for v in row)]


def parse(name: str, data: bytes, now_ms: int) -> ParsedFile:
    """Recognise and validate one file (``name``, its bytes ``data``); ``FileRejected`` says why it cannot be
    loaded."""
    records = read_records(name, data)
    columns = set(records[0])
    source = f"file:{name}"[:128]
    if set(KLINE_REQUIRED) <= columns:
        return _klines(records, now_ms, source)
    if set(BALANCE_REQUIRED) <= columns:
        return _balances(records, source)
    missing_k = [c for c in KLINE_REQUIRED if c not in columns]
    missing_b = [c for c in BALANCE_REQUIRED if c not in columns]
    raise FileRejected(
        f"its {len(columns)} columns are neither klines (missing {', '.join(missing_k)}) "
        f"nor balances (missing {', '.join(missing_b)})"
    )


def _ms(value: Any, name: str) -> int:
    """Epoch milliseconds from an int, a digit string or an ISO datetime (naive = UTC)."""
    return moment_ms(value, name, "UTC")


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value).strip()


def _kline_array(record: dict[str, Any], interval: str) -> list[Any]:
    open_ms = _ms(record["open_time"], "open_time")
    close = record.get("close_time")
    close_ms = _ms(close, "close_time") if _text(close) else next_open(open_ms, interval) - 1
    trades = _text(record.get("trades"))
    return [
        open_ms,
        *(_text(record[c]) for c in ("open", "high", "low", "close", "volume")),
        close_ms,
        _text(record.get("quote_volume")),
        int(float(trades)) if trades else None,
        _text(record.get("taker_buy_base_volume")),
        _text(record.get("taker_buy_quote_volume")),
        "0",
    ]


def _klines(records: list[dict[str, Any]], now_ms: int, source: str) -> ParsedFile:
    reasons: list[str] = []
    series: dict[tuple[str, str], list[tuple[int, list[Any]]]] = defaultdict(list)
    for line, record in enumerate(records, start=2):
        try:
            (symbol,) = normalise_symbols([_text(record["symbol"]) or ""])
            interval = validate_interval(_text(record["interval"]) or "")
            array = _kline_array(record, interval)
            klines.parse_kline(array, symbol, interval, source)  # every row rule, for a reason naming the row
            series[symbol, interval].append((line, array))
        except (ValueError, TypeError) as err:
            reasons.append(f"row {line}: {problem_of(err)}")
    rows: list[tuple[Any, ...]] = []
    for (symbol, interval), lined in series.items():
        batch = klines.transform_klines([array for _, array in lined], symbol, interval, now_ms, source)
        lines = {array[0]: line for line, array in lined}
        reasons += [f"row {lines.get(r[2], '?')}: {r[3]}" for r in batch.rejects]  # what is left: still open
        if batch.duplicates:
            reasons.append(f"{batch.duplicates} rows repeat the open time of another row")
        rows += batch.rows
    _raise_if(reasons)
    opens = [row[3] for row in rows]
    return ParsedFile("klines", rows, (min(opens), max(opens)))


def _balances(records: list[dict[str, Any]], source: str) -> ParsedFile:
    reasons: list[str] = []
    rows: list[tuple[Any, ...]] = []
    for line, record in enumerate(records, start=2):
        try:
            snapshot_ms = _ms(record["snapshot_time"], "snapshot_time")
            balance = {
                "asset": _text(record["asset"]) or "",
                "free": _text(record["free"]),
                "locked": _text(record["locked"]),
            }
            account = _text(record.get("account")) or DEFAULT_ACCOUNT
            rows += snapshots.balance_rows({"balances": [balance]}, snapshot_ms, source, account)
        except (ValueError, TypeError) as err:
            reasons.append(f"row {line}: {problem_of(err)}")
    keys = [row[:3] for row in rows]
    if len(set(keys)) != len(keys):
        reasons.append("an asset appears twice for the same account and snapshot_time")
    _raise_if(reasons)
    return ParsedFile("balances", rows, None)


def _raise_if(reasons: list[str]) -> None:
    if reasons:
        more = f" (and {len(reasons) - MAX_REASONS} more)" if len(reasons) > MAX_REASONS else ""
        raise FileRejected(f"{len(reasons)} invalid rows: " + "; ".join(reasons[:MAX_REASONS]) + more)
