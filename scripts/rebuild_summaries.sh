#!/usr/bin/env bash
# Recompute fact_kline's summaries (agg_kline_daily, agg_kline_series) from the candles: bash
# scripts/rebuild_summaries.sh [SYMBOL...] (default: every series). One transaction per series, progress in the
# log. The warehouse is binance_warehouse (default: the local MariaDB, database binance_dw) unless
# AIRFLOW_CONN_BINANCE_WAREHOUSE says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/.airflow} PYTHONPATH=$PWD:$PWD/plugins
export AIRFLOW_CONN_BINANCE_WAREHOUSE=${AIRFLOW_CONN_BINANCE_WAREHOUSE:-'{"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": "binance_dw"}'}
exec .venv/bin/python -m binance_airflow.warehouse.summaries "$@"
