"""Data-quality gates after the loads: common.sql's table check over what the run just loaded.

A table's ``Gate`` (declared in its ``tables.TABLES`` entry) becomes one ``SQLTableCheckOperator`` whose
checks are read in one scan of the rows the run wrote; a failed check fails its task, so the run fails,
nothing is published and the notifications name the check. The SQL is rendered when the check runs, from
the run's window (the ``plan`` task's XCom) and the load XComs. Missing candles are not a check here: the
ETL's reconciliation compares fact_kline with Binance itself before these gates run.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, NoReturn

from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator

from binance_airflow.warehouse import summaries
from binance_airflow.warehouse.connection import DATABASE_TEMPLATE
from binance_airflow.warehouse.connection import MACROS as CONNECTION_MACROS
from binance_airflow.warehouse.lineage import WarehouseLineage
from binance_airflow.warehouse.tables import Gate
from include import settings, symbol_selection, task_ids
from include.intervals import HOUR_MS, validate_interval
from include.transforms.klines import sql_datetime
from include.transforms.klines import utc as kline_time

SQL_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")
WINDOW = "{% set window = ti.xcom_pull(task_ids='" + task_ids.PLAN + "', key='window') %}"


def _symbols(window: dict[str, Any]) -> str:
    """The run's symbols as a SQL list, each validated again here where it is rendered into SQL (whoever named
    it: a user, or a server's exchangeInfo)."""
    for symbol in window["symbols"]:
        symbol_selection.check(symbol, patterns=False)
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
    """WHERE condition selecting the snapshot rows the run staged (stamped with Binance's times, each checked to
    be a DATETIME(3) literal before it is rendered)."""
    for time in staged["snapshot_times"]:
        if not SQL_DATETIME.match(str(time)):
            raise ValueError(f"snapshot time {str(time)[:40]!r} is not a UTC datetime such as 2024-05-01 00:00:00.000")
    times = ", ".join(f"'{time}'" for time in staged["snapshot_times"]) or "NULL"
    symbols = f" AND symbol IN ({_symbols(window)})" if window else ""
    return f"snapshot_time IN ({times}){symbols}"


def hour_scope(window: dict[str, Any]) -> str:
    """WHERE condition selecting the hours of the run's window in dim_date."""
    start = window["start_ms"] - window["start_ms"] % HOUR_MS
    return f"datetime_utc >= {_utc(start)} AND datetime_utc < {_utc(window['end_ms'])}"


def summary_drift(window: dict[str, Any]) -> str:
    """SQL counting the days of the run's window (whole UTC days) whose summaries differ from their candles."""
    first, last = (kline_time(window["start_ms"]).date(), kline_time(window["end_ms"] - 1).date())
    return summaries.drift(window["symbols"], window["interval"], first, last + timedelta(days=1))


MACROS = {
    **CONNECTION_MACROS,
    "kline_scope": kline_scope,
    "snapshot_scope": snapshot_scope,
    "hour_scope": hour_scope,
    "summary_drift": summary_drift,
}


class OneScanTableCheckOperator(WarehouseLineage, SQLTableCheckOperator):
    """SQLTableCheckOperator whose checks are all computed in one scan of the partition (its lineage: the table it
    reads, named as the loads name it).

    The provider's query reads the partition once per check (a subquery each, joined by UNION ALL): seven
    checks over a market backfill's 21 M candles are seven range scans. Here one aggregate row holds every
    check's result and is unpivoted to the provider's ``(check_name, check_result)`` rows, so its result
    handling and listeners' check results are unchanged; its failure message leads with the failed checks. Every
    check must be an aggregate condition; a per-check ``partition_clause`` is not supported.
    """

    def lineage_sql(self) -> list[str]:
        return [f"SELECT * FROM {self.table}"]

    def _raise_exception(self, exception_string: str) -> NoReturn:
        """The provider's failure, led by the failed checks' names (its detail starts with the long query)."""
        failed = [name for name, check in self.checks.items() if check.get("success") is False]
        lead = f"{self.table} failed {', '.join(failed)} on this run's rows; nothing is published. " if failed else ""
        super()._raise_exception(lead + exception_string)

    def _generate_sql_query(self) -> str:
        if any("partition_clause" in check for check in self.checks.values()):
            raise ValueError(f"{self.task_id}: a per-check partition_clause needs its own scan; use the scope")
        where = f"WHERE {self.partition_clause}" if self.partition_clause else ""
        results = ", ".join(
            f"CASE WHEN {check['check_statement']} THEN 1 ELSE 0 END AS `{name}`" for name, check in self.checks.items()
        )
        names = " UNION ALL ".join(f"SELECT '{name}' AS check_name" for name in self.checks)
        pick = " ".join(f"WHEN '{name}' THEN results.`{name}`" for name in self.checks)
        return (
            f"SELECT names.check_name, CASE names.check_name {pick} END AS check_result "
            f"FROM (SELECT {results} FROM {self.table} {where}) AS results CROSS JOIN ({names}) AS names"
        )


def quality_gate(table: str, gate: Gate) -> OneScanTableCheckOperator:
    """The task checking what the run loaded into ``table``: ``check_<table>``, failing naming each failed check."""
    return OneScanTableCheckOperator(
        task_id=task_ids.check(table),
        table=table,
        partition_clause=WINDOW + "{{ " + gate.scope + " }}",
        checks={name: {"check_statement": WINDOW + statement} for name, statement in gate.checks.items()},
        conn_id=settings.WAREHOUSE_CONN_ID,
        database=DATABASE_TEMPLATE,
        # retrying a check cannot change the data it found: a failed gate fails the run at once (not retried),
        # while a database that cannot be reached (restarting, a lost connection) is retried like any task
        retry_on_failure=False,
        doc_md=f"Data-quality gate on `{table}` for this run, in one scan: "
        + ", ".join(f"`{name}`" for name in gate.checks)
        + ".",
    )
