"""Reading import sources: the specs (shipped presets and the ``binance_import_sources`` Variable), files under the
import folder, and tables or queries of any common.sql connection, streamed through a server-side cursor."""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from airflow.providers.common.sql.hooks.lineage import send_sql_hook_lineage
from airflow.sdk import BaseHook, Variable

from binance_airflow.etl.inbox import NotOurFile, read_file
from binance_airflow.warehouse.lineage import report_files
from include import settings
from include.imports.rows import KLINE_ARRAY, missing_columns
from include.imports.spec import SourceSpec, SpecError, resolve
from include.transforms.file_sources import FileRejected, read_records

log = logging.getLogger(__name__)
PRESETS = Path(__file__).resolve().parents[3] / "include" / "imports" / "presets.yaml"
IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,64}(\.[A-Za-z0-9_]{1,64})?$")
SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".xlsx": "xlsx"}


class SourceUnreadable(Exception):
    """A source that cannot be read as its spec says (a missing column, a file in another encoding or format);
    nothing of it is loaded, and the message says why. Reading it again would not help."""


class SourceLost(Exception):
    """A source database failed while it was read (the connection lost, the table dropped): nothing of it is
    loaded; the task retries and reads it whole again."""


def catalogue() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Every source and group: the presets, then the Variable's (which may add and replace)."""
    shipped = yaml.safe_load(PRESETS.read_text(encoding="utf-8"))
    sources, groups = dict(shipped["sources"]), dict(shipped["groups"])
    own = Variable.get(settings.IMPORT_SOURCES_VARIABLE, default=None)
    if own:
        try:
            extra = json.loads(own)
        except json.JSONDecodeError as err:
            raise SpecError(f"Variable {settings.IMPORT_SOURCES_VARIABLE} is not JSON: {err.msg}") from None
        if not isinstance(extra, dict) or not isinstance(extra.get("sources", {}), dict):
            raise SpecError(
                f'Variable {settings.IMPORT_SOURCES_VARIABLE} must be {{"sources": {{...}}, "groups": ...}}'
            )
        sources |= extra.get("sources", {})
        groups |= extra.get("groups", {})
    return sources, groups


def specs(names: list[str], overrides: dict[str, Any]) -> list[SourceSpec]:
    sources, groups = catalogue()
    return resolve(names, sources, groups, overrides)


# ---- files ----


def matching_files(spec: SourceSpec) -> list[Path]:
    """The files of ``spec.files`` under the import folder, sorted; a pattern reaching outside it is refused."""
    root = settings.IMPORT_ROOT.resolve()
    if Path(spec.files).is_absolute() or ".." in Path(spec.files).parts:
        raise SpecError(f"source {spec.name!r}: files {spec.files!r} must be a pattern inside the import folder")
    found = sorted(Path(p) for p in glob.glob(str(root / spec.files), recursive=True))
    return [p for p in found if p.resolve().is_relative_to(root) and not p.name.startswith(".")]


def file_records(spec: SourceSpec, path: Path, item: str) -> tuple[str, list[dict[str, Any]]]:
    """The fingerprint (SHA-256) and the records of one file (``item``: its path in the import folder);
    SourceUnreadable says why it cannot be read."""
    try:
        data = read_file(path, settings.MAX_IMPORT_FILE_BYTES)
    except (NotOurFile, FileRejected) as err:
        raise SourceUnreadable(f"{item}: {err}") from None
    fingerprint = hashlib.sha256(data).hexdigest()
    report_files(spec, read=(path,))
    fmt = spec.format or SUFFIX_FORMATS.get(path.suffix.lower(), "")
    try:
        if fmt == "kline_arrays":
            return fingerprint, _kline_arrays(data, spec.encoding)
        if fmt not in ("csv", "json", "xlsx"):
            raise SourceUnreadable(f"{item}: no format for {path.suffix!r} files: state format in the spec")
        return fingerprint, read_records(f"{path.stem}.{fmt}", data, spec.delimiter, spec.encoding)
    except FileRejected as err:
        raise SourceUnreadable(f"{item}: {err}") from None


def _kline_arrays(data: bytes, encoding: str) -> list[dict[str, Any]]:
    """A raw /api/v3/klines answer (a JSON array of 12-element arrays) as records keyed by field name."""
    try:
        loaded = json.loads(data.decode(encoding))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise FileRejected(f"cannot be read as a JSON array of klines ({type(err).__name__})") from None
    if not isinstance(loaded, list) or not all(isinstance(a, list) and len(a) >= 11 for a in loaded):
        raise FileRejected("a kline_arrays file must hold a JSON array of 12-element kline arrays")
    return [dict(zip(KLINE_ARRAY, array, strict=False)) for array in loaded]


# ---- databases ----


@dataclass(frozen=True)
class Query:
    """What is read from a source database: the SQL, its parameters, and how to quote a name there."""

    spec: SourceSpec
    watermark: str | None

    @property
    def hook(self) -> Any:
        try:
            return BaseHook.get_connection(self.spec.connection).get_hook()
        except Exception as err:
            raise SpecError(
                f"source {self.spec.name!r}: connection {self.spec.connection!r} gives no database hook ({err})"
            ) from None

    def quote(self, hook: Any, name: str) -> str:
        if not IDENTIFIER.match(name):
            raise SpecError(f"source {self.spec.name!r}: {name!r} is not a plain table or column name")
        mark = "`" if hook.conn_type in ("mysql", "mariadb") else '"'
        return ".".join(f"{mark}{part}{mark}" for part in name.split("."))

    def origin(self, hook: Any) -> str:
        spec = self.spec
        return f"({spec.query}) AS q" if spec.kind == "query" else self.quote(hook, spec.table)

    def select(self, hook: Any, order: list[str]) -> tuple[str, list[Any]]:
        where, params = "", []
        if self.spec.cursor and self.watermark is not None:
            where, params = f" WHERE {self.quote(hook, self.spec.cursor)} >= {hook.placeholder}", [self.watermark]
        ordering = ", ".join(self.quote(hook, column) for column in order)
        return f"SELECT * FROM {self.origin(hook)}{where}" + (f" ORDER BY {ordering}" if ordering else ""), params

    def highest(self, column: str) -> Any:
        """The highest value of ``column`` in the whole source (the newest candle's open time, say)."""
        hook = self.hook
        return hook.get_first(f"SELECT MAX({self.quote(hook, column)}) FROM {self.origin(hook)}")[0]


def with_columns(spec: SourceSpec, records: Iterable[dict[str, Any]], where: str) -> Iterator[dict[str, Any]]:
    """``records``, refused (SourceUnreadable) at the first when it lacks a column the spec needs."""
    first = True
    for record in records:
        if first and (missing := missing_columns(record, spec)):
            hint = " or state captured_at, the moment the balances were read" if spec.target == "fact_balance" else ""
            raise SourceUnreadable(
                f"{where}: column {', '.join(missing)} missing (it has: {', '.join(sorted(record))[:300]}); "
                f"map the columns in the spec{hint}"
            )
        first = False
        yield record


def database_records(query: Query, order: list[str]) -> Iterator[dict[str, Any]]:
    """The source's rows as records keyed by lower-cased column names, ``settings.IMPORT_CHUNK_ROWS`` per round
    trip through a server-side cursor (MySQL's SSCursor, a PostgreSQL named cursor; SQLite reads lazily)."""
    hook = query.hook
    sql, params = query.select(hook, order)
    conn = hook.get_conn()
    try:
        cursor = _server_side_cursor(hook.conn_type, conn)
        cursor.execute(sql, params)
        names = [str(d[0]).lower() for d in cursor.description]
        read = 0
        while rows := cursor.fetchmany(settings.IMPORT_CHUNK_ROWS):
            read += len(rows)
            for row in rows:
                yield dict(zip(names, row, strict=True))
        cursor.close()
        # lineage: the source's tables as the SQL names them (MySQL has no schemas: its database is the default)
        mysql = hook.conn_type in ("mysql", "mariadb")
        database = (hook.schema or BaseHook.get_connection(query.spec.connection).schema) if mysql else None
        send_sql_hook_lineage(context=hook, sql=sql, sql_parameters=params, row_count=read, default_schema=database)
    except SpecError:
        raise
    except Exception as err:
        raise SourceLost(f"source {query.spec.name!r}: reading it failed ({type(err).__name__}: {err})") from None
    finally:
        conn.close()


def _server_side_cursor(conn_type: str, conn: Any) -> Any:
    if conn_type in ("mysql", "mariadb"):
        import MySQLdb.cursors

        return conn.cursor(MySQLdb.cursors.SSCursor)
    if conn_type in ("postgres", "postgresql"):
        return conn.cursor(name="binance_import")
    return conn.cursor()
