#!/usr/bin/env bash
# The main job, offline: set up, start the bundled Binance simulator on 127.0.0.1, point binance_default
# at it and binance_warehouse at the local MariaDB, run one full binance_etl DAG run (yesterday, UTC,
# 1h candles for five symbols) with `airflow dags test`, then print what was loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
port=${SIM_PORT:-18999}
.venv/bin/python -m include.binance_sim --port "$port" --start 2018-01-01 &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v3/ping" >/dev/null && break; sleep 0.2; done

export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/.airflow}
export AIRFLOW__CORE__DAGS_FOLDER=$PWD/dags AIRFLOW__CORE__PLUGINS_FOLDER=$PWD/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES=False PYTHONPATH=$PWD:$PWD/plugins
export AIRFLOW_CONN_BINANCE_DEFAULT="{\"conn_type\": \"binance\", \"host\": \"http://127.0.0.1:$port\", \"login\": \"sim-api-key\", \"password\": \"sim-api-secret\"}"
export AIRFLOW_CONN_BINANCE_WAREHOUSE='{"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": "binance_dw"}'
.venv/bin/airflow db migrate >/dev/null
day=$(date -u -d yesterday +%F)
.venv/bin/airflow dags test binance_etl "$(date -u +%FT00:00:00+00:00)" \
  --conf "{\"start\": \"$day\", \"end\": \"$(date -u +%F)\"}" > .airflow/demo-run.log 2>&1 \
  || { tail -40 .airflow/demo-run.log; echo "demo: DAG run failed (log: .airflow/demo-run.log)" >&2; exit 1; }
grep -A8 "binance_etl manual" .airflow/demo-run.log \
  | sed -E 's/^.*\] (binance_etl manual)/\1/; s/ \[binance_airflow[^]]*\] loc=.*$//' | grep -E "^binance_etl manual|^  " || true
mysql --protocol=tcp -h127.0.0.1 -uroot binance_dw -e "
  SELECT symbol, \`interval\`, COUNT(*) AS candles, MIN(open_time) AS first_open, MAX(open_time) AS last_open,
         SUM(\`close\`) AS sum_close FROM fact_kline GROUP BY symbol, \`interval\`;
  SELECT table_name, SUM(rows_in) rows_in, SUM(inserted) inserted, SUM(updated) updated, SUM(rejects) rejects
    FROM etl_run_log GROUP BY table_name;"
