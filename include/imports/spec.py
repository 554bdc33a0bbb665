"""A source spec: where rows come from, which warehouse table they fill, and how to read them.

Specs are plain mappings (YAML in ``include/imports/presets.yaml``, or JSON in the ``binance_import_sources``
Airflow Variable). ``source_spec`` checks one and says exactly which key is wrong and what it accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from include.intervals import validate_interval

NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
KINDS = ("files", "table", "query")
FORMATS = ("csv", "json", "xlsx", "kline_arrays")
# The fields each target is filled from; the first group is required. fact_ticker_24hr's are Binance's own names.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fact_kline": (
        ("open_time", "open", "high", "low", "close", "volume"),
        ("close_time", "quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume"),
    ),
    "fact_balance": (("asset", "free", "locked"), ("snapshot_time", "account")),
    "fact_ticker_24hr": (
        (
            "priceChange",
            "priceChangePercent",
            "lastPrice",
            "openPrice",
            "highPrice",
            "lowPrice",
            "volume",
            "quoteVolume",
            "openTime",
            "closeTime",
            "count",
        ),
        (),
    ),
}
SYMBOL_TARGETS = ("fact_kline", "fact_ticker_24hr")
VERIFY = ("binance", "trust")
NOT_SERVED = ("keep", "reject")
ON_CONFLICT = ("reject", "keep_existing", "overwrite")
KNOWN_KEYS = {
    "name",
    "description",
    "kind",
    "files",
    "format",
    "connection",
    "table",
    "query",
    "target",
    "columns",
    "symbol",
    "interval",
    "decimal",
    "delimiter",
    "encoding",
    "timezone",
    "captured_at",
    "exported_at",
    "verify",
    "not_served",
    "on_conflict",
    "cursor",
    "account",
}


class SpecError(ValueError):
    """A source spec that cannot be used; the message names the source, the key and what it accepts."""


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: str  # files | table | query
    target: str  # a warehouse table in FIELDS
    files: str = ""  # glob under the import folder (kind files)
    format: str = ""  # files: csv | json | xlsx | kline_arrays (default: from the file's suffix)
    connection: str = ""  # kind table/query: an Airflow connection of a common.sql type ("" = the trigger's conn_id)
    table: str = ""
    query: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # target field -> source column
    symbol: tuple[str, str] = ("column", "symbol")  # (column, NAME) | (file_name, "") | (value, SYMBOL)
    interval: str = "infer"  # an interval, or "infer" (from the spacing of open times, checked)
    decimal: str = "."
    delimiter: str = ","
    encoding: str = "utf-8"
    timezone: str = "UTC"  # of naive datetimes in the source
    captured_at: int | None = None  # ms: the capture time of point-in-time rows that carry none
    exported_at: int | None = None  # ms: when the source was written (candles closing later were still open)
    verify: str = "binance"  # klines: check against the exchange (binance) or take the source's values (trust)
    not_served: str = "keep"  # klines Binance does not serve: keep them (source = the import) or reject them
    on_conflict: str = "reject"  # vs the warehouse's row: reject (both values kept), keep_existing, overwrite
    cursor: str = ""  # table/query: a column that only grows (the watermark); "" = read everything each time
    account: str = ""  # balances: the account they belong to ("" = an account column, else the default account)
    description: str = ""

    @property
    def provenance(self) -> str:
        """The ``source`` of rows whose values come from this source: ``file:<name>`` or ``db:<name>``."""
        return f"{'file' if self.kind == 'files' else 'db'}:{self.name}"

    def source_column(self, target_field: str) -> str:
        return self.columns.get(target_field, target_field)


def _choice(name: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SpecError(f"source {name!r}: {key} {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _text(name: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(f"source {name!r}: {key} must be text, not {type(value).__name__}")
    return value


def _time_ms(name: str, key: str, value: Any) -> int | None:
    """An ISO datetime with its offset (``2024-01-05T23:00:00+01:00``) as epoch ms; None when not given."""
    if value in (None, ""):
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise SpecError(f"source {name!r}: {key} {value!r} is not an ISO datetime") from None
    if moment.tzinfo is None:
        raise SpecError(f"source {name!r}: {key} {value!r} has no UTC offset (write e.g. {value}+00:00)")
    return int(moment.astimezone(UTC).timestamp() * 1000)


def _symbol(name: str, value: Any) -> tuple[str, str]:
    if value == "file_name":
        return ("file_name", "")
    if isinstance(value, dict) and len(value) == 1:
        ((how, what),) = value.items()
        if how in ("column", "value") and isinstance(what, str) and what:
            return (how, what.upper() if how == "value" else what)
    raise SpecError(f"source {name!r}: symbol must be file_name, {{column: NAME}} or {{value: SYMBOL}}, not {value!r}")


def _account(name: str, value: Any) -> str:
    if value and (not isinstance(value, str) or not NAME.match(value)):
        raise SpecError(f"source {name!r}: account {value!r} must be lower-case letters, digits and _ (at most 48)")
    return value or ""


def source_spec(raw: Any, overrides: dict[str, Any] | None = None) -> SourceSpec:
    """A checked ``SourceSpec`` from a mapping (``overrides``: the trigger's values for keys the spec leaves
    open: ``connection``, ``captured_at``, ``exported_at``)."""
    if not isinstance(raw, dict):
        raise SpecError(f"a source spec must be a mapping, not {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise SpecError(f"source name {name!r} must be lower-case letters, digits and _ (at most 48)")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise SpecError(f"source {name!r}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
    spec = {**raw, **{k: v for k, v in (overrides or {}).items() if v not in (None, "") and not raw.get(k)}}
    kind = _choice(name, "kind", spec.get("kind"), KINDS)
    target = _choice(name, "target", spec.get("target"), tuple(FIELDS))
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise SpecError(f"source {name!r}: columns must map target fields to source column names")
    required, optional = FIELDS[target]
    strange = sorted(set(columns) - set(required) - set(optional))
    if strange:
        raise SpecError(
            f"source {name!r}: columns names {', '.join(strange)}, which {target} does not have "
            f"(fields: {', '.join(required + optional)})"
        )
    for key, needed in (("files", kind == "files"), ("table", kind == "table"), ("query", kind == "query")):
        if needed and not spec.get(key):
            raise SpecError(f"source {name!r}: kind {kind} needs {key}")
    if kind != "files" and not spec.get("connection"):
        raise SpecError(f"source {name!r}: no connection (state it in the spec, or trigger with conn_id)")
    interval = spec.get("interval", "infer")
    if interval != "infer":
        try:
            validate_interval(interval)
        except ValueError as err:
            raise SpecError(f"source {name!r}: interval: {err}") from None
    timezone = _text(name, "timezone", spec.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problem = "is not an IANA time zone (e.g. Europe/Paris)"
        raise SpecError(f"source {name!r}: timezone {timezone!r} {problem}") from None
    encoding = _text(name, "encoding", spec.get("encoding", "utf-8"))
    try:
        "".encode(encoding)
    except LookupError:
        raise SpecError(f"source {name!r}: encoding {encoding!r} is unknown (e.g. utf-8, latin-1)") from None
    captured_at = _time_ms(name, "captured_at", spec.get("captured_at"))
    if spec.get("format"):
        _choice(name, "format", spec["format"], FORMATS)
    symbol = _symbol(name, spec.get("symbol", {"column": "symbol"}))
    return SourceSpec(
        name=name,
        kind=kind,
        target=target,
        files=_text(name, "files", spec.get("files", "")),
        format=spec.get("format", ""),
        connection=_text(name, "connection", spec.get("connection", "")),
        table=_text(name, "table", spec.get("table", "")),
        query=_text(name, "query", spec.get("query", "")),
        columns=dict(columns),
        symbol=symbol,
        interval=interval,
        decimal=_choice(name, "decimal", spec.get("decimal", "."), (".", ",")),
        delimiter=_choice(name, "delimiter", spec.get("delimiter", ","), (",", ";", "\t", "|")),
        encoding=encoding,
        timezone=timezone,
        captured_at=captured_at,
        exported_at=_time_ms(name, "exported_at", spec.get("exported_at")),
        verify=_choice(name, "verify", spec.get("verify", "binance"), VERIFY),
        not_served=_choice(name, "not_served", spec.get("not_served", "keep"), NOT_SERVED),
        on_conflict=_choice(name, "on_conflict", spec.get("on_conflict", "reject"), ON_CONFLICT),
        cursor=_text(name, "cursor", spec.get("cursor", "")),
        account=_account(name, spec.get("account", "")),
        description=_text(name, "description", spec.get("description", "")),
    )


def resolve(
    names: list[str], presets: dict[str, Any], groups: dict[str, list[str]], overrides: dict[str, Any]
) -> list[SourceSpec]:
    """The checked specs ``names`` stand for (a source's name or a group of them), each once, in order."""
    wanted: list[str] = []
    for name in names:
        for member in groups.get(name, [name]):
            if member not in presets:
                known = ", ".join(sorted([*presets, *groups]))
                raise SpecError(f"no source named {member!r} (sources and groups: {known})")
            if member not in wanted:
                wanted.append(member)
    return [source_spec({"name": member, **presets[member]}, overrides) for member in wanted]
