"""Data-quality gates after the loads: common.sql check operators over what the run just loaded.

Each gate is one ``SQLTableCheckOperator`` (and a ``SQLColumnCheckOperator`` where columns are
checked) scoped to the run's symbols and window; a failed check fails its task, so the run fails and
the notifications name it. The SQL is rendered at run time from the ``plan`` and load XComs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator

from binance_airflow.warehouse import DATABASE_TEMPLATE
from binance_airflow.warehouse import MACROS as WAREHOUSE_MACROS
from include import settings
from include.intervals import FIXED_MS, validate_interval
from include.sql_files import sql
from include.transforms.klines import sql_datetime

WINDOW = "{% set window = ti.xcom_pull(task_ids='plan', key='window') %}"


def _symbols(window: dict[str, Any]) -> str:
    """The run's symbols as a SQL list (plan has already validated them as [A-Z0-9]{2,20})."""
    return ", ".join(f"'{symbol}'" for symbol in window["symbols"])


def _utc(ms: int) -> str:
    """A quoted UTC DATETIME(3) literal."""
    return f"'{sql_datetime(ms)}'"


def kline_scope(window: dict[str, Any]) -> str:
    """WHERE condition selecting the run's candles in fact_kline."""
    return (
        f"symbol IN ({_symbols(window)}) AND `interval` = '{validate_interval(window['interval'])}' "
        f"AND open_time >= {_utc(window['start_ms'])} AND open_time < {_utc(window['end_ms'])}"
    )


def snapshot_scope(window: dict[str, Any], key: str = "symbol") -> str:
    """WHERE condition selecting the run's snapshot rows (stamped with the window's end)."""
    symbols = f" AND symbol IN ({_symbols(window)})" if key == "symbol" else ""
    return f"snapshot_time = {_utc(window['end_ms'])}{symbols}"


def hour_scope(window: dict[str, Any]) -> str:
    """WHERE condition selecting the run's hours in dim_date."""
    return f"datetime_utc >= {_utc(window['start_ms'])} AND datetime_utc < {_utc(window['end_ms'])}"


def expected_candles(interval: str) -> str:
    """SQL counting the candles a gap-free series holds from its first to its last open time."""
    if interval == "1M":
        return "TIMESTAMPDIFF(MONTH, MIN(open_time), MAX(open_time)) + 1"
    return f"(MAX(open_time_ms) - MIN(open_time_ms)) DIV {FIXED_MS[validate_interval(interval)]} + 1"


MACROS = {
    **WAREHOUSE_MACROS,
    "kline_scope": kline_scope,
    "snapshot_scope": snapshot_scope,
    "hour_scope": hour_scope,
    "expected_candles": expected_candles,
}


def _loaded_rows(table: str) -> str:
    return f"{{{{ ti.xcom_pull(task_ids='load_{table}')['rows_in'] }}}}"


@dataclass(frozen=True)
class Gate:
    """What is checked after loading one table: table checks, optional column checks, the rows' scope."""

    scope: str
    checks: dict[str, str]
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""


def _no_nulls(*columns: str) -> dict[str, dict[str, Any]]:
    return {column: {"null_check": {"equal_to": 0}} for column in columns}


GATES: dict[str, Gate] = {
    "fact_kline": Gate(
        scope="kline_scope(window)",
        source=sql("quality/fact_kline_by_symbol.sql"),
        checks={
            "no_gaps": f"COALESCE(SUM(missing), 0) <= {settings.DQ_ALLOWED_GAPS}",
            "high_ge_low": "COALESCE(SUM(high_below_low), 0) = 0",
            "rows_match_extracted": f"COALESCE(SUM(candles), 0) = {_loaded_rows('fact_kline')}",
        },
        columns=_no_nulls("open", "high", "low", "close", "volume")
        | {"low": {"null_check": {"equal_to": 0}, "min": {"geq_to": 0}}},
    ),
    "fact_ticker_24hr": Gate(
        scope="snapshot_scope(window)",
        checks={
            "high_ge_low": "COALESCE(SUM(high_price < low_price), 0) = 0",
            "rows_match_extracted": f"COUNT(*) = {_loaded_rows('fact_ticker_24hr')}",
        },
    ),
    "fact_balance": Gate(
        scope="snapshot_scope(window, 'asset')",
        checks={
            "no_negative_balance": "COALESCE(SUM(free < 0 OR locked < 0), 0) = 0",
            "rows_match_extracted": f"COUNT(*) = {_loaded_rows('fact_balance')}",
        },
    ),
    "dim_date": Gate(
        scope="hour_scope(window)",
        checks={"rows_match_extracted": f"COUNT(*) = {_loaded_rows('dim_date')}"},
    ),
}


def quality_gate(table: str) -> list[SQLTableCheckOperator | SQLColumnCheckOperator]:
    """Tasks to run after ``load_<table>``: ``check_<table>``, plus ``check_<table>_columns`` if any."""
    gate = GATES[table]
    # Retrying a check cannot change the data it found: a failed gate fails the run at once.
    common: dict[str, Any] = {
        "conn_id": settings.WAREHOUSE_CONN_ID,
        "database": DATABASE_TEMPLATE,
        "retries": 0,
    }
    scope = WINDOW + "{{ " + gate.scope + " }}"
    checks = {name: {"check_statement": WINDOW + statement} for name, statement in gate.checks.items()}
    table_check = SQLTableCheckOperator(
        task_id=f"check_{table}",
        table=WINDOW + gate.source if gate.source else table,
        partition_clause=None if gate.source else scope,
        checks=checks,
        doc_md=f"Data-quality gate on `{table}` for this run: " + ", ".join(f"`{name}`" for name in checks) + ".",
        **common,
    )
    if not gate.columns:
        return [table_check]
    column_check = SQLColumnCheckOperator(
        task_id=f"check_{table}_columns",
        table=table,
        partition_clause=scope,
        column_mapping=gate.columns,
        doc_md=f"Column checks on this run's `{table}` rows: no NULL prices, no negative lows.",
        **common,
    )
    return [table_check, column_check]
