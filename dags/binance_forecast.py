"""binance_forecast: the next 24 hourly closes of every symbol with 1h candles, with 80 % and 95 % intervals.

Scheduled on the `fact_kline` Asset: it runs after each binance_etl load of candles. Per symbol (mapped),
statsforecast's AutoETS (daily season) is fitted on the latest gap-free 720 hours and written to
`fact_forecast`; a rolling-origin backtest over the last `BINANCE_ETL_FORECAST_FOLDS` days (each fold
fitted only on the hours before its origin) writes MASE against the naive forecast, MAPE and the
intervals' empirical coverage to `forecast_metrics`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import dag, task

from binance_airflow.etl import forecast
from binance_airflow.etl.dag_defaults import default_args
from binance_airflow.warehouse.assets import table_asset
from binance_airflow.warehouse.connection import DATABASE_TEMPLATE, MACROS
from include import settings


@dag(
    dag_id="binance_forecast",
    schedule=[table_asset("fact_kline")],
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    template_searchpath=[str(settings.SQL_DIR)],
    user_defined_macros=MACROS,
    default_args=default_args(1),
    doc_md=__doc__,
    tags=["binance", "forecast"],
)
def binance_forecast() -> None:
    create_tables = SQLExecuteQueryOperator(
        task_id="create_tables",
        conn_id=settings.WAREHOUSE_CONN_ID,
        database=DATABASE_TEMPLATE,
        sql=["fact_forecast.sql", "forecast_metrics.sql"],
        split_statements=True,
        doc_md="Creates `fact_forecast` and `forecast_metrics` if they are missing.",
    )

    @task
    def hourly_series() -> list[str]:
        """Symbols with at least a week of 1h candles."""
        return forecast.hourly_series()

    @task(doc_md="Forecast one symbol's next 24 hourly closes and backtest the model on its history.")
    def forecast_symbol(symbol: str) -> dict[str, Any]:
        return forecast.forecast_symbol(symbol)

    symbols = hourly_series()
    create_tables >> symbols
    forecast_symbol.expand(symbol=symbols)


binance_forecast()
