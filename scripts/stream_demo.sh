#!/usr/bin/env bash
# The real-time path, offline: the bundled simulator's WebSocket kline streams (1s candles of BTCUSDT and
# ETHUSDT) into the local MariaDB (database binance_dw) by the stream service for 20 seconds, then what it
# wrote: candles from the streams (source binance_ws) and the last minute healed over REST (binance_api).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
log=$(mktemp)
.venv/bin/python -m include.binance_sim --port 0 --symbols BTCUSDT,ETHUSDT > "$log" &
sim=$!
trap 'kill $sim 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do [ "$(wc -l < "$log")" -ge 2 ] && break; sleep 0.2; done
rest=$(sed -n 1p "$log" | awk '{print $NF}')
streams=$(sed -n 2p "$log" | awk '{print $NF}')

export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/.airflow}
export AIRFLOW_CONN_BINANCE_DEFAULT="{\"conn_type\": \"binance\", \"host\": \"$rest\", \"extra\": {\"stream_url\": \"$streams\"}}"
export AIRFLOW_CONN_BINANCE_WAREHOUSE='{"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": "binance_dw"}'
export AIRFLOW_VAR_BINANCE_STREAM='{"symbols": ["BTCUSDT", "ETHUSDT"], "intervals": ["1s"]}'
export BINANCE_STREAM_LOOKBACK=60
.venv/bin/python -m binance_airflow.stream --seconds 20 2>&1 | grep -E "streaming|stream service stopped" \
  | sed -E 's/^[^]]*\] //; s/ \[binance_airflow[^]]*\] loc=.*$//'
mysql --protocol=tcp -h127.0.0.1 -uroot binance_dw -e "
  SELECT symbol, \`interval\`, source, COUNT(*) AS candles, MIN(open_time) AS first_open, MAX(open_time) AS last_open
    FROM fact_kline WHERE \`interval\` = '1s' AND open_time >= UTC_TIMESTAMP() - INTERVAL 5 MINUTE
   GROUP BY symbol, \`interval\`, source;"
