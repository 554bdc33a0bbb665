"""binance_stream_freshness: every 5 minutes, is every stream of the real-time service fresh in the warehouse?

For each symbol and interval of the Airflow Variable `binance_stream` (what `python -m binance_airflow.stream`
streams), the newest candle in `fact_kline` must have opened at most two intervals ago: one check per
stream in a common.sql `SQLTableCheckOperator`, so a stale stream fails the run and the failure
notification (the `binance_notify` webhook) names it, e.g. `BTCUSDT_1m_fresh`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator
from airflow.sdk import dag

from binance_airflow.etl.dag_defaults import default_args
from binance_airflow.stream import config as stream_config
from binance_airflow.warehouse.connection import DATABASE_TEMPLATE, MACROS
from include import settings
from include.intervals import FIXED_MS

MONTH_S = 31 * 86_400


@dag(
    dag_id="binance_stream_freshness",
    schedule=timedelta(minutes=5),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    user_defined_macros=MACROS,
    default_args=default_args(0),
    doc_md=__doc__,
    tags=["binance", "stream"],
)
def binance_stream_freshness() -> None:
    config = stream_config.load()
    SQLTableCheckOperator(
        task_id="check_stream_freshness",
        conn_id=settings.WAREHOUSE_CONN_ID,
        database=DATABASE_TEMPLATE,
        table="fact_kline",
        checks={
            f"{symbol}_{interval}_fresh": {
                "check_statement": "COUNT(*) > 0",
                "partition_clause": f"symbol = '{symbol}' AND `interval` = '{interval}' AND open_time >= "
                f"UTC_TIMESTAMP(3) - INTERVAL {2 * (FIXED_MS[interval] // 1000 if interval in FIXED_MS else MONTH_S)} "
                "SECOND",
            }
            for symbol, interval in config.pairs
        },
        doc_md="Each stream's newest candle opened at most two intervals ago (a check per stream).",
    )


binance_stream_freshness()
