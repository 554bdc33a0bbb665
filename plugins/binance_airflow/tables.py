"""The warehouse's tables in one registry: staged columns, natural key, DDL file, data-quality gate, Asset.

Adding a table to the warehouse is one entry here and one ``include/sql/<name>.sql``; a table that the
ETL loads from a staging CSV (it has ``columns``) also gets its load, gate and publish tasks from this
entry. Views are every ``include/sql/views/*.sql``, applied after the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow.sdk import Asset

from binance_airflow.assets import table_asset
from binance_airflow.quality import Gate, loaded_rows, no_nulls, xcom
from include import settings
from include.transforms import dim_date, klines, snapshots


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...] = ()  # staging CSV columns, in order; empty: not loaded from staging files
    key: tuple[str, ...] = ()
    gate: Gate | None = None
    internal: bool = False  # the ETL's own bookkeeping: not granted to the warehouse's reader (BI, dashboard)

    @property
    def ddl(self) -> str:
        return f"{self.name}.sql"

    @property
    def asset(self) -> Asset:
        return table_asset(self.name)


_HEALED = "{{ " + xcom("reconcile_fact_kline", "['new_rows']") + " }}"

TABLES: dict[str, Table] = {
    table.name: table
    for table in (  # in dependency order: dimensions before the facts that reference them
        Table(
            "dim_date",
            dim_date.COLUMNS,
            ("date_key",),
            Gate("hour_scope(window)", {"rows_match_extracted": f"COUNT(*) = {loaded_rows('dim_date')}"}),
        ),
        Table("dim_symbol", snapshots.SYMBOL_COLUMNS, ("symbol",)),
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
                },
            ),
        ),
        Table(
            "fact_ticker_24hr",
            snapshots.TICKER_COLUMNS,
            ("symbol", "snapshot_time"),
            Gate(
                f"snapshot_scope({xcom('transform_ticker', '')}, window)",
                {
                    "high_ge_low": "COALESCE(SUM(high_price < low_price), 0) = 0",
                    "rows_match_extracted": f"COUNT(*) = {loaded_rows('fact_ticker_24hr')}",
                },
            ),
        ),
        Table(
            "fact_balance",
            snapshots.BALANCE_COLUMNS,
            ("asset", "snapshot_time"),
            Gate(
                f"snapshot_scope({xcom('transform_balances', '')})",
                {
                    "no_negative_balance": "COALESCE(SUM(free < 0 OR locked < 0), 0) = 0",
                    "rows_match_extracted": f"COUNT(*) = {loaded_rows('fact_balance')}",
                },
            ),
        ),
        Table("etl_run_log", internal=True),
        Table("etl_reject", internal=True),
        Table("kline_gap"),
        Table("fact_forecast"),
        Table("forecast_metrics"),
    )
}
LOADED: list[Table] = [table for table in TABLES.values() if table.columns]
VIEWS: tuple[str, ...] = tuple(sorted(path.stem for path in (settings.SQL_DIR / "views").glob("*.sql")))
SCHEMA_FILES: tuple[str, ...] = (*(table.ddl for table in TABLES.values()), *(f"views/{view}.sql" for view in VIEWS))
