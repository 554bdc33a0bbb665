"""The warehouse's tables in one registry: staged columns, natural key, DDL file, transform, data-quality gate, Asset.

Adding a table is one entry here and one ``include/sql/<name>.sql``. A table the ETL stages (it has ``columns``
and a ``transform``) also gets from its entry its ``transform_<name>``, ``load_<name>``, ``check_<name>`` and
``publish_<name>`` tasks in binance_etl; the DDL's foreign keys order its load after the tables it references.
Views are every ``include/sql/views/*.sql``, applied in name order after the tables and their upgrade (a view
reading another sorts after it: ``v_portfolio_by_account`` before ``v_portfolio_value``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from airflow.sdk import Asset

from binance_airflow.warehouse.assets import table_asset
from include import settings, task_ids
from include.run_window import RunWindow
from include.transforms import dim_date, klines, snapshots

# The run's raw captures a transform can read (``<staging folder>/raw/<capture>.json``); WINDOW: none, only the
# run's window; KLINES: the kline batches of the ``klines`` task group.
WINDOW, EXCHANGE_INFO, TICKER, ACCOUNT, KLINES = "window", "exchange_info", "ticker_24hr", "account", "klines"
Transform = Callable[[Any, RunWindow], list[tuple[Any, ...]]]  # (the raw capture or None, the window) -> rows


@dataclass(frozen=True)
class Gate:
    """What is checked after loading one table: named checks over the rows' scope.

    ``scope`` is a Jinja expression (with ``window``, the run's window) rendering a WHERE condition; each check
    is a condition on aggregates of those rows (``COUNT(*) = …``, ``SUM(…) = 0``), all read in one scan.
    """

    scope: str
    checks: dict[str, str]


def xcom(task_id: str, field_path: str = "") -> str:
    """Jinja for a task's return value or a part of it, e.g. ``xcom('load_dim_date', "['rows_in']")``."""
    return f"ti.xcom_pull(task_ids='{task_id}'){field_path}"


def loaded_rows(table: str) -> str:
    """Jinja: how many rows the run's load of ``table`` brought in."""
    return "{{ " + xcom(task_ids.load(table), "['rows_in']") + " }}"


def no_nulls(*columns: str) -> dict[str, str]:
    return {f"{column}_not_null": f"COALESCE(SUM(`{column}` IS NULL), 0) = 0" for column in columns}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...] = ()  # staging CSV columns, in order; empty: not loaded from staging files
    key: tuple[str, ...] = ()
    gate: Gate | None = None
    staged_from: str | None = None  # the raw capture its transform reads (WINDOW, EXCHANGE_INFO, ...)
    transform: Transform | None = None  # rows from the capture; None for KLINES (the klines task group)
    internal: bool = False  # the ETL's own bookkeeping: not granted to the warehouse's reader (BI, dashboard)

    @property
    def ddl(self) -> str:
        return f"{self.name}.sql"

    @property
    def asset(self) -> Asset:
        return table_asset(self.name)

    @cached_property
    def references(self) -> tuple[str, ...]:
        """The tables its DDL's foreign keys reference: their loads come first."""
        return tuple(re.findall(r"REFERENCES\s+`?(\w+)`?", (settings.SQL_DIR / self.ddl).read_text(), re.IGNORECASE))


def _snapshot_scope(table: str, per_symbol: bool = False) -> str:
    """Jinja scope of a snapshot table's gate: the snapshot times its transform staged."""
    return f"snapshot_scope({xcom(task_ids.transform(table))}{', window' if per_symbol else ''})"


_HEALED = "{{ " + xcom(task_ids.RECONCILE, "['new_rows']") + " }}"

TABLES: dict[str, Table] = {
    table.name: table
    for table in (  # in dependency order: dimensions before the facts that reference them
        Table(
            "dim_date",
            dim_date.COLUMNS,
            ("date_key",),
            Gate("hour_scope(window)", {"rows_match_extracted": f"COUNT(*) = {loaded_rows('dim_date')}"}),
            WINDOW,
            dim_date.stage,
        ),
        Table("dim_symbol", snapshots.SYMBOL_COLUMNS, ("symbol",), None, EXCHANGE_INFO, snapshots.stage_symbols),
        Table("dim_account", snapshots.ACCOUNT_COLUMNS, ("account",), None, ACCOUNT, snapshots.stage_accounts),
        Table(
            "fact_kline",
            klines.COLUMNS,
            ("symbol", "interval", "open_time"),
            Gate(
                "kline_scope(window)",
                {
                    "high_ge_low": "COALESCE(SUM(high < low), 0) = 0",
                    # every candle in the window is one this run staged, or one Binance served only when asked
                    # again (reconcile): none from elsewhere
                    "rows_match_extracted": f"COUNT(*) = {loaded_rows('fact_kline')} + {_HEALED}",
                    **no_nulls("open", "high", "low", "close", "volume"),
                    "low_not_negative": "COALESCE(MIN(low), 0) >= 0",
                    # agg_kline_daily and agg_kline_series equal the candles of the window's days
                    "summaries_match_candles": "{{ summary_drift(window) }} = 0",
                },
            ),
            KLINES,
        ),
        Table(
            "fact_ticker_24hr",
            snapshots.TICKER_COLUMNS,
            ("symbol", "snapshot_time"),
            Gate(
                _snapshot_scope("fact_ticker_24hr", per_symbol=True),
                {
                    "high_ge_low": "COALESCE(SUM(high_price < low_price), 0) = 0",
                    "rows_match_extracted": f"COUNT(*) = {loaded_rows('fact_ticker_24hr')}",
                },
            ),
            TICKER,
            snapshots.stage_ticker,
        ),
        Table(
            "fact_balance",
            snapshots.BALANCE_COLUMNS,
            ("account", "asset", "snapshot_time"),
            Gate(
                _snapshot_scope("fact_balance"),
                {
                    "no_negative_balance": "COALESCE(SUM(free < 0 OR locked < 0), 0) = 0",
                    "rows_match_extracted": f"COUNT(*) = {loaded_rows('fact_balance')}",
                },
            ),
            ACCOUNT,
            snapshots.stage_balances,
        ),
        Table("agg_kline_daily"),  # fact_kline's summaries, kept by its writers (warehouse.summaries)
        Table("agg_kline_series"),
        Table("etl_run_log", internal=True),
        Table("etl_reject", internal=True),
        Table("etl_import_state", internal=True),
        Table("etl_import_log", internal=True),
        Table("kline_gap"),
        Table("fact_forecast"),
        Table("forecast_metrics"),
    )
}
LOADED: list[Table] = [table for table in TABLES.values() if table.columns]
VIEWS: tuple[str, ...] = tuple(sorted(path.stem for path in (settings.SQL_DIR / "views").glob("*.sql")))
TABLE_FILES: tuple[str, ...] = tuple(table.ddl for table in TABLES.values())
VIEW_FILES: tuple[str, ...] = tuple(f"views/{view}.sql" for view in VIEWS)  # after the tables' upgrade: they read it
SCHEMA_FILES: tuple[str, ...] = (*TABLE_FILES, *VIEW_FILES)
