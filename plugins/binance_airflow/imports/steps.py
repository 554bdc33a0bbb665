"""The binance_import DAG's steps: stage a source (read, normalise, confirm with Binance), load it (conflicts by
policy, one transaction with its log and watermark), check it, report.

A source is staged whole before anything is loaded: a source that cannot be read, or disappears while it is
read, fails its stage task and nothing of it reaches the warehouse.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from itertools import groupby, islice
from pathlib import Path
from typing import Any

from binance_airflow.binance.hook import BinanceHook
from binance_airflow.etl.run_folder import inside, run_dir
from binance_airflow.imports import sources
from binance_airflow.warehouse.connection import warehouse_hook
from binance_airflow.warehouse.loads import LoadResult, compare_staged, insert_new, record_rejects, upsert_csv
from binance_airflow.warehouse.tables import TABLES
from include import settings
from include.imports import rows as source_rows
from include.imports.confirm import Confirmation, confirm, trusted
from include.imports.rows import Series, kline_series, records_by_symbol
from include.imports.spec import SYMBOL_TARGETS, SourceSpec
from include.intervals import HOUR_MS, next_open
from include.transforms import dim_date, klines, snapshots
from include.transforms.klines import sql_datetime
from include.transforms.staging import NULL, read_csv, read_json, write_csv, write_json

log = logging.getLogger(__name__)
DAG_ID = "binance_import"
SHOWN = 10  # conflicts and rejects named per source in the report


def plan(names: list[str], overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's sources as checked specs (XCom dicts); a bad name or spec fails here, before anything is read."""
    if not names:
        raise ValueError('no sources: trigger with sources, e.g. ["talend_database"] (docs/imports.md)')
    return [asdict(spec) for spec in sources.specs(names, overrides)]


def _spec(raw: dict[str, Any]) -> SourceSpec:
    return SourceSpec(**{**raw, "symbol": tuple(raw["symbol"])})


def _state(spec: SourceSpec) -> dict[str, tuple[str, str | None, str | None]]:
    """item -> (fingerprint, watermark, interval) as the last load of ``spec`` left them."""
    found = warehouse_hook().get_records(
        "SELECT item, fingerprint, watermark, `interval` FROM etl_import_state WHERE source = %s",
        parameters=(spec.name,),
    )
    return {item: (fingerprint, watermark, interval) for item, fingerprint, watermark, interval in found}


class Digest:
    """A SHA-256 over every record read, in order: the import log's checksum of what was read."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def over(self, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for record in records:
            self._hash.update(repr(sorted(record.items())).encode("utf-8", "surrogateescape"))
            self.count += 1
            yield record

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def stage(raw_spec: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Read one source, normalise and validate its rows, confirm klines with Binance; write the staging CSVs."""
    spec = _spec(raw_spec)
    folder = inside(run_dir(run_id, DAG_ID), spec.name)
    state = _state(spec)
    digest = Digest()
    items: list[dict[str, Any]] = []
    if spec.kind == "files":
        batches = list(_file_batches(spec, state, items, digest))
    else:
        batches = [_database_batch(spec, state, items, digest)]
    staged = _stage_target(spec, batches, folder, state)
    staged |= {"spec": asdict(spec), "items": items, "checksum": digest.hexdigest()}
    staged["rows_read"] = digest.count
    write_json(folder / "staged.json", staged)
    log.info(
        "%s: %d rows read from %d item(s), %d staged for %s, %d rejected",
        spec.name,
        digest.count,
        len(items),
        staged["rows"],
        spec.target,
        staged["rejected"],
    )
    return {"source": spec.name, "staged": str(folder / "staged.json")}


def _file_batches(
    spec: SourceSpec, state: dict[str, Any], items: list[dict[str, Any]], digest: Digest
) -> Iterator[tuple[str, Iterable[dict[str, Any]]]]:
    """(file stem, records) of each matching file not already loaded as it is now (same fingerprint)."""
    files = sources.matching_files(spec)
    if not files:
        log.warning("%s: no file matches %s under %s", spec.name, spec.files, settings.IMPORT_ROOT)
    for path in files:
        item = str(path.relative_to(settings.IMPORT_ROOT.resolve()))
        fingerprint, records = sources.file_records(spec, path, item)
        if state.get(item, (None,))[0] == fingerprint:
            log.info("%s: %s unchanged since it was loaded: skipped", spec.name, item)
            continue
        items.append({"item": item, "fingerprint": fingerprint, "watermark": None, "rows_read": len(records)})
        yield path.stem, digest.over(sources.with_columns(spec, records, item))


def _database_batch(
    spec: SourceSpec, state: dict[str, Any], items: list[dict[str, Any]], digest: Digest
) -> tuple[str, Iterable[dict[str, Any]]]:
    """The source's rows from its watermark on (inclusive: the last value is read again, a small overlap)."""
    watermark = state.get("", (None, None, None))[1]
    query = sources.Query(spec, watermark)
    order = []
    if spec.target == "fact_kline":
        order = [spec.symbol[1]] if spec.symbol[0] == "column" else []
        order.append(spec.source_column("open_time"))
    item = {"item": "", "fingerprint": "", "watermark": watermark, "rows_read": 0}
    items.append(item)
    cursor = spec.cursor.lower()

    def records() -> Iterator[dict[str, Any]]:
        highest = None
        read = sources.database_records(query, order)
        for record in digest.over(sources.with_columns(spec, read, spec.table or "the query")):
            item["rows_read"] += 1
            if cursor and record.get(cursor) is not None:
                highest = record[cursor] if highest is None else max(highest, record[cursor])
            yield record
        item["watermark"] = str(highest) if highest is not None else watermark
        item["fingerprint"] = digest.hexdigest()

    return "", records()


def _stage_target(
    spec: SourceSpec, batches: list[tuple[str, Iterable[dict[str, Any]]]], folder: Path, state: dict[str, Any]
) -> dict[str, Any]:
    if spec.target == "fact_kline":
        return _stage_klines(spec, batches, folder, state)
    return _stage_snapshots(spec, batches, folder)


def _exported_ms(spec: SourceSpec, newest_open: int | None) -> int:
    """When the source was written: stated in the spec, else no earlier than its newest candle's open (a candle
    opening then proves it)."""
    if spec.exported_at is not None:
        return spec.exported_at
    return newest_open if newest_open is not None else 0


def _newest_open(spec: SourceSpec) -> int | None:
    if spec.kind == "files":
        return None
    highest = sources.Query(spec, None).highest(spec.source_column("open_time"))
    return None if highest is None else source_rows.moment_ms(highest, "open_time", spec.timezone)


def _series(spec: SourceSpec, batches: list[tuple[str, Iterable[dict[str, Any]]]]) -> Iterator[tuple[str, list]]:
    """(symbol, candle arrays) in chunks of a series, and (\"\", rejects) for records that are no candle at all. A
    database source arrives ordered by symbol and open time, in chunks of ``IMPORT_CHUNK_ROWS`` (memory stays
    bounded whatever its size); a file is read whole (its size is bounded), one series or a few."""
    for stem, records in batches:
        if spec.kind == "files":
            yield from _grouped(spec, list(records), stem)
            continue
        column = spec.symbol[1].lower() if spec.symbol[0] == "column" else None
        for _, group in groupby(records, key=lambda r: r.get(column) if column else None):
            while chunk := list(islice(group, settings.IMPORT_CHUNK_ROWS)):
                yield from _grouped(spec, chunk, stem)


def _grouped(spec: SourceSpec, records: list[dict[str, Any]], stem: str) -> Iterator[tuple[str, list]]:
    by_symbol, rejects = records_by_symbol(records, spec, stem)
    if rejects:
        yield "", rejects
    yield from by_symbol.items()


def _stage_klines(
    spec: SourceSpec, batches: list[tuple[str, Iterable[dict[str, Any]]]], folder: Path, state: dict[str, Any]
) -> dict[str, Any]:
    hook = BinanceHook()
    listed = {s["symbol"]: s for s in hook.exchange_info().get("symbols", [])}
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    grouped = list(_series(spec, batches)) if spec.kind == "files" else None
    if grouped is not None:
        opens = [array[0] for symbol, arrays in grouped if symbol for array in arrays if isinstance(array[0], int)]
        exported = _exported_ms(spec, max(opens, default=None))
    else:
        exported = _exported_ms(spec, _newest_open(spec))
    known_interval = state.get("", (None, None, None))[2]
    rejects: list[tuple[Any, ...]] = []
    per_symbol: dict[str, dict[str, Any]] = {}
    hours: list[int] = []
    intervals: Counter[str] = Counter()

    carried: dict[str, Series] = {}  # per symbol: its last chunk (the interval, the newest candle)

    def staged_rows() -> Iterator[tuple[Any, ...]]:
        for symbol, arrays in grouped if grouped is not None else _series(spec, batches):
            if not symbol:
                rejects.extend(arrays)
                continue
            series = _checked_series(spec, symbol, arrays, known_interval, listed, carried.get(symbol))
            carried[symbol] = Series(symbol, series.interval, last=series.last)  # not its rows: memory stays bounded
            rejects.extend(series.rejects)
            counts = {"interval": series.interval, "read": series.read, "rejected": len(series.rejects)}
            counts["duplicates"] = series.duplicates
            if series.rows:
                intervals[series.interval] += 1
                result = _confirmed(spec, hook, series, exported, now_ms)
                rejects.extend(result.rejects)
                counts = counts | result.counts() | {"rejected": len(series.rejects) + len(result.rejects)}
                if result.rows:
                    hours.extend((result.rows[0][3], result.rows[-1][3]))
                yield from result.rows
            per_symbol[symbol] = _add_counts(per_symbol.get(symbol, {}), counts)

    written = write_csv(folder / "fact_kline.csv", klines.COLUMNS, staged_rows())
    symbols = sorted(s for s in per_symbol if s in listed)
    write_csv(
        folder / "dim_symbol.csv",
        snapshots.SYMBOL_COLUMNS,
        snapshots.symbol_rows({"symbols": list(listed.values())}, symbols),
    )
    if hours:
        write_csv(folder / "dim_date.csv", dim_date.COLUMNS, dim_date.hours(min(hours), max(hours) + HOUR_MS))
    write_csv(folder / "rejects.csv", klines.REJECT_COLUMNS, rejects)
    totals = Counter()
    for counts in per_symbol.values():
        totals.update({k: v for k, v in counts.items() if isinstance(v, int)})
    return {
        "csv": str(folder / "fact_kline.csv"),
        "rows": written,
        "rejected": len(rejects),
        "per_symbol": per_symbol,
        "totals": dict(totals),
        "interval": intervals.most_common(1)[0][0] if intervals else known_interval,
        "dims": [name for name in ("dim_date", "dim_symbol") if (folder / f"{name}.csv").exists()],
        "open_range": [min(hours), max(hours)] if hours else None,
        "exported_at": sql_datetime(exported),
    }


def _checked_series(
    spec: SourceSpec,
    symbol: str,
    arrays: list[list[Any]],
    known_interval: str | None,
    listed: dict[str, Any],
    before: Series | None,
) -> Series:
    """One chunk of a series validated; the interval is the one its first chunk showed (or, for an increment too
    short to show it, the one the source's last import found)."""
    if symbol not in listed:
        reason = f"symbol {symbol} is not listed by Binance (exchangeInfo, any status)"
        series = Series(symbol, "", read=len(arrays))
        series.rejects = [(symbol, "", a[0], reason, repr(a)[:500]) for a in arrays]
        return series
    if before is not None and before.interval:
        return kline_series(symbol, arrays, replace(spec, interval=before.interval), before.last)
    if spec.interval == "infer" and known_interval and len({a[0] for a in arrays}) < 2:
        spec = replace(spec, interval=known_interval)
    return kline_series(symbol, arrays, spec)


def _add_counts(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """Per-symbol counts of two chunks added up."""
    added = dict(total) | {k: v for k, v in more.items() if not isinstance(v, int | dict)}
    for name, value in more.items():
        if isinstance(value, int):
            added[name] = total.get(name, 0) + value
        elif isinstance(value, dict):
            added[name] = dict(Counter(total.get(name, {})) + Counter(value))
    return added


def _confirmed(spec: SourceSpec, hook: BinanceHook, series: Series, exported: int, now_ms: int) -> Confirmation:
    if spec.verify == "trust":
        return trusted(series, exported)
    first, last = series.rows[0][3], series.rows[-1][3]
    served = list(hook.iter_klines(series.symbol, series.interval, first, next_open(last, series.interval)))
    result = confirm(series, served, exported, now_ms, spec.not_served == "keep")
    log.info("%s %s: %s", series.symbol, series.interval, result.counts())
    return result


def _stage_snapshots(
    spec: SourceSpec, batches: list[tuple[str, Iterable[dict[str, Any]]]], folder: Path
) -> dict[str, Any]:
    table = TABLES[spec.target]
    listed: dict[str, Any] = {}
    if spec.target in SYMBOL_TARGETS:
        listed = {s["symbol"]: s for s in BinanceHook().exchange_info().get("symbols", [])}
    by_key: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    clashing: set[tuple[Any, ...]] = set()
    rejects: list[tuple[Any, ...]] = []
    zero = 0
    for stem, records in batches:
        for record in records:
            symbol = ""
            try:
                if spec.target == "fact_ticker_24hr":
                    symbol = source_rows.symbol_of(record, spec, stem)
                    if symbol not in listed:
                        raise ValueError(f"symbol {symbol} is not listed by Binance (exchangeInfo, any status)")
                    row = source_rows.ticker_row(record, spec, symbol)
                else:
                    row = source_rows.balance_row(record, spec)
            except ValueError as err:
                rejects.append(
                    (symbol or str(record.get("asset", ""))[:32], "", None, str(err)[:500], repr(record)[:500])
                )
                continue
            if row is None:
                zero += 1
                continue
            key = tuple(row[table.columns.index(c)] for c in table.key)
            if key in by_key and by_key[key] != row:
                clashing.add(key)
                rejects.append(
                    (
                        key[0],
                        "",
                        None,
                        f"two different rows for {key}: {by_key[key]} and {row}"[:500],
                        repr(record)[:500],
                    )
                )
            by_key.setdefault(key, row)
    rows = [row for key, row in by_key.items() if key not in clashing]
    written = write_csv(folder / f"{spec.target}.csv", table.columns, rows)
    dims = []
    if spec.target == "fact_balance" and rows:
        accounts = [(a, "import", spec.connection or None) for a in sorted({row[0] for row in rows})]
        write_csv(folder / "dim_account.csv", snapshots.ACCOUNT_COLUMNS, accounts)
        dims.append("dim_account")
    symbols = sorted({row[0] for row in rows}) if listed else []
    if symbols:
        dims.append("dim_symbol")
        write_csv(
            folder / "dim_symbol.csv",
            snapshots.SYMBOL_COLUMNS,
            snapshots.symbol_rows({"symbols": list(listed.values())}, symbols),
        )
    write_csv(folder / "rejects.csv", klines.REJECT_COLUMNS, rejects)
    return {
        "csv": str(folder / f"{spec.target}.csv"),
        "rows": written,
        "rejected": len(rejects),
        "zero_skipped": zero,
        "dims": dims,
    }


def load(staged_ref: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Load one staged source: its dimensions first, then its rows in one transaction with the import log and the
    watermark; a row differing from the warehouse's is handled by the source's ``on_conflict`` (Binance's own
    candles always replace)."""
    staged = read_json(Path(staged_ref["staged"]))
    spec = _spec(staged["spec"])
    folder = Path(staged["csv"]).parent
    db = warehouse_hook()
    for name in staged["dims"]:
        path = folder / f"{name}.csv"
        if name == "dim_account":  # an account the warehouse already knows keeps its kind and connection
            insert_new(db, TABLES[name], read_csv(path)[1])
        else:
            upsert_csv(db, TABLES[name], path, len(read_csv(path)[1]), run_id)
    table = TABLES[spec.target]
    if _may_overlap(db, staged):
        kept, rows, conflicts = _apply_conflicts(db, table, Path(staged["csv"]), staged["rows"], spec.on_conflict)
    else:  # the warehouse holds none of these candles: nothing to compare (a big first import skips a pass)
        kept, rows, conflicts = Path(staged["csv"]), staged["rows"], []
    rejects = _read_rejects(folder / "rejects.csv")
    if spec.on_conflict == "reject":
        rejects += [_conflict_reject(table, ours, theirs) for ours, theirs in conflicts]
    record_rejects(db, run_id, table.name, rejects, batch=f"import:{spec.name}")
    totals = staged.get("totals", {})

    def log_and_watermark(cur: Any, result: LoadResult) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        counts = [totals.get(k, 0) for k in ("equal", "corrected", "not_served", "open_dropped")]
        cur.execute(
            "REPLACE INTO etl_import_log (dag_run_id, source, target, rows_read, inserted, updated, unchanged, equal, "
            "corrected, not_served, open_dropped, rejected, checksum, finished_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                run_id,
                spec.name,
                table.name,
                staged["rows_read"],
                result.inserted,
                result.updated,
                result.unchanged,
                *counts,
                len(rejects),
                staged["checksum"],
                now,
            ),
        )
        cur.executemany(
            "REPLACE INTO etl_import_state (source, item, fingerprint, watermark, `interval`, rows_read, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (spec.name, i["item"], i["fingerprint"], i["watermark"], staged.get("interval"), i["rows_read"], now)
                for i in staged["items"]
            ],
        )

    result = upsert_csv(db, table, kept, rows, run_id, len(rejects), also=log_and_watermark)
    report = {**result.as_dict(), "source": spec.name, "csv": str(kept), "rejected": len(rejects)}
    report |= {
        k: staged[k] for k in ("rows_read", "per_symbol", "totals", "exported_at", "zero_skipped") if k in staged
    }
    reasons = Counter(r[3] for r in rejects).most_common(SHOWN)
    report |= {"conflicts": len(conflicts), "on_conflict": spec.on_conflict, "reasons": dict(reasons)}
    return report


def _may_overlap(db: Any, staged: dict[str, Any]) -> bool:
    """Whether the warehouse may already hold rows of this staging file (klines: any candle of its symbols in
    its range of open times; other tables: always compared, they are small)."""
    if "open_range" not in staged:
        return True
    if staged["open_range"] is None:
        return False
    symbols = sorted(staged["per_symbol"])
    first, last = (sql_datetime(ms) for ms in staged["open_range"])
    marks = ", ".join(["%s"] * len(symbols))
    found = db.get_first(
        f"SELECT EXISTS (SELECT 1 FROM fact_kline WHERE symbol IN ({marks}) AND open_time BETWEEN %s AND %s)",
        parameters=(*symbols, first, last),
    )
    return bool(found[0])


def _read_rejects(path: Path) -> list[tuple[Any, ...]]:
    return [
        (symbol, interval, int(open_ms) if open_ms not in ("", NULL) else None, reason, raw)
        for symbol, interval, open_ms, reason, raw in read_csv(path)[1]
    ]


def _csv_text(value: Any) -> str:
    """A key value as the staging CSV holds it."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if isinstance(value, datetime) else str(value)


def _apply_conflicts(
    db: Any, table: Any, csv_path: Path, rows: int, on_conflict: str
) -> tuple[Path, int, list[tuple[tuple[Any, ...], tuple[Any, ...]]]]:
    """The staging file to load (conflicting rows taken out unless the policy overwrites), its rows, and the
    conflicts: rows the warehouse holds with other values. A row differing only in provenance is the warehouse's
    already (its own provenance stays); a candle of Binance's own is no conflict, it replaces."""
    source = table.columns.index("source")
    conflicts, dropped = [], set()
    for ours, theirs in compare_staged(db, table, csv_path, rows).differing:
        key = tuple(_csv_text(ours[table.columns.index(c)]) for c in table.key)
        if ours[:source] + ours[source + 1 :] == theirs[:source] + theirs[source + 1 :]:
            dropped.add(key)
        elif ours[source] != klines.API_SOURCE:
            conflicts.append((ours, theirs))
            if on_conflict != "overwrite":
                dropped.add(key)
    if not dropped:
        return csv_path, rows, conflicts
    header, body = read_csv(csv_path)
    at = [header.index(c) for c in table.key]
    kept = [row for row in body if tuple(row[i] for i in at) not in dropped]
    path = csv_path.with_name(f"{csv_path.stem}.kept.csv")
    return path, write_csv(path, header, kept), conflicts


def _conflict_reject(table: Any, ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> tuple[Any, ...]:
    """An etl_reject row naming both values of every field the source and the warehouse disagree on."""
    fields = [
        f"{name}: warehouse {theirs[i]}, source {ours[i]}"
        for i, name in enumerate(table.columns)
        if name != "source" and ours[i] != theirs[i]
    ]
    symbol = str(ours[table.columns.index("symbol" if "symbol" in table.columns else "asset")])
    open_ms = ours[table.columns.index("open_time_ms")] if "open_time_ms" in table.columns else None
    interval = ours[1] if table.name == "fact_kline" else ""
    reason = f"differs from the warehouse's row ({'; '.join(fields)}); policy on_conflict: reject"
    return (symbol, interval, open_ms, reason[:500], repr(ours)[:500])


def check(loaded: dict[str, Any]) -> dict[str, Any]:
    """The gate: every row this load kept is in the warehouse with exactly the staged values."""
    table = TABLES[loaded["table"]]
    comparison = compare_staged(warehouse_hook(), table, Path(loaded["csv"]), loaded["rows_in"])
    if comparison.missing or comparison.differing:
        raise RuntimeError(
            f"{loaded['source']}: {comparison.missing} loaded rows are not in {table.name} and "
            f"{len(comparison.differing)} differ from what was loaded"
        )
    return {"source": loaded["source"], "table": table.name, "rows_checked": loaded["rows_in"]}


def summary(run_id: str, loads: list[dict[str, Any]], failed: list[str]) -> dict[str, Any]:
    """The import report: per source what was read, loaded, confirmed or corrected by Binance, dropped, rejected."""
    keep = ("table", "rows_read", "inserted", "updated", "unchanged", "rejected", "conflicts", "totals", "reasons")
    return {
        "event": "import_summary",
        "dag_run_id": run_id,
        "status": "failed" if failed else "success",
        "sources": {
            load["source"]: {k: load[k] for k in keep if k in load} | {"per_symbol": load.get("per_symbol", {})}
            for load in loads
        },
        "failed_tasks": failed,
    }


def format_summary(report: dict[str, Any]) -> str:
    lines = [f"binance_import {report['dag_run_id']}: {report['status'].upper()}"]
    for name, s in report["sources"].items():
        lines.append(
            f"  {name} -> {s['table']}: read={s['rows_read']} inserted={s['inserted']} updated={s['updated']} "
            f"unchanged={s['unchanged']} rejected={s['rejected']} conflicts={s['conflicts']}"
        )
        for symbol, c in sorted(s["per_symbol"].items()):
            fields = ", ".join(f"{f} {n}" for f, n in c.get("corrected_fields", {}).items())
            lines.append(
                f"    {symbol} {c['interval'] or '?'}: read={c['read']} equal={c.get('equal', 0)} "
                f"corrected={c.get('corrected', 0)}{f' ({fields})' if fields else ''} "
                f"not_served={c.get('not_served', 0)} still_open_dropped={c.get('open_dropped', 0)} "
                f"rejected={c['rejected']}"
            )
        lines += [f"    rejected {n}x: {reason}" for reason, n in s.get("reasons", {}).items()]
    if report["failed_tasks"]:
        lines.append(f"  failed: {', '.join(report['failed_tasks'])}")
    return "\n".join(lines)
