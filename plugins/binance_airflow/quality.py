"""Data-quality gates after the loads: common.sql check operators over what the run just loaded.

A table's ``Gate`` (declared in its ``tables.TABLES`` entry) becomes one ``SQLTableCheckOperator`` (and a
``SQLColumnCheckOperator`` where columns are checked), scoped to the rows the run wrote; a failed check
fails its task, so the run fails, nothing is published and the notifications name the check. The SQL
is rendered when the check runs, from the ``plan`` and load XComs. Missing candles are not a check here:
``reconcile.py`` compares fact_kline with Binance itself before these gates run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator

from binance_airflow.warehouse import DATABASE_TEMPLATE
from binance_airflow.warehouse import MACROS as WAREHOUSE_MACROS
from include import settings
from include.intervals import HOUR_MS, validate_interval
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


def snapshot_scope(staged: dict[str, Any], window: dict[str, Any] | None = None) -> str:
    """WHERE condition selecting the snapshot rows the run staged (stamped with Binance's times)."""
    times = ", ".join(f"'{time}'" for time in staged["snapshot_times"]) or "NULL"
    symbols = f" AND symbol IN ({_symbols(window)})" if window else ""
    return f"snapshot_time IN ({times}){symbols}"


def hour_scope(window: dict[str, Any]) -> str:
    """WHERE condition selecting the hours of the run's window in dim_date."""
    start = window["start_ms"] - window["start_ms"] % HOUR_MS
    return f"datetime_utc >= {_utc(start)} AND datetime_utc < {_utc(window['end_ms'])}"


MACROS = {**WAREHOUSE_MACROS, "kline_scope": kline_scope, "snapshot_scope": snapshot_scope, "hour_scope": hour_scope}


def xcom(task_id: str, field_path: str) -> str:
    """Jinja for a task's return value or a part of it, e.g. ``xcom('load_dim_date', "['rows_in']")``."""
    return f"ti.xcom_pull(task_ids='{task_id}'){field_path}"


def loaded_rows(table: str) -> str:
    """Jinja: how many rows the run's load of ``table`` brought in."""
    return "{{ " + xcom(f"load_{table}", "['rows_in']") + " }}"


@dataclass(frozen=True)
class Gate:
    """What is checked after loading one table: table checks, optional column checks, the rows' scope.

    ``scope`` is a Jinja expression (with ``window``, the run's plan) rendering a WHERE condition.
    """

    scope: str
    checks: dict[str, str]
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)


def no_nulls(*columns: str) -> dict[str, dict[str, Any]]:
    return {column: {"null_check": {"equal_to": 0}} for column in columns}


def quality_gate(table: str, gate: Gate) -> list[SQLTableCheckOperator | SQLColumnCheckOperator]:
    """Tasks checking what the run loaded into ``table``: ``check_<table>``, plus ``check_<table>_columns``."""
    # Retrying a check cannot change the data it found: a failed gate fails the run at once.
    common: dict[str, Any] = {"conn_id": settings.WAREHOUSE_CONN_ID, "database": DATABASE_TEMPLATE, "retries": 0}
    scope = WINDOW + "{{ " + gate.scope + " }}"
    checks = {name: {"check_statement": WINDOW + statement} for name, statement in gate.checks.items()}
    table_check = SQLTableCheckOperator(
        task_id=f"check_{table}",
        table=table,
        partition_clause=scope,
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
        doc_md=f"Column checks on this run's `{table}` rows: " + ", ".join(f"`{c}`" for c in gate.columns) + ".",
        **common,
    )
    return [table_check, column_check]
