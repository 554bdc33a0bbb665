#!/usr/bin/env bash
# The main job, offline: set up, start the bundled Binance simulator on 127.0.0.1, point
# binance_default at it, and run against it. Nothing leaves this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
port=${SIM_PORT:-18999}
.venv/bin/python -m include.binance_sim --port "$port" --symbols BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT,XRPUSDT --start 2018-01-01 &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v3/ping" >/dev/null && break; sleep 0.2; done
export AIRFLOW_CONN_BINANCE_DEFAULT="{\"conn_type\": \"http\", \"host\": \"http://127.0.0.1:$port\", \"login\": \"sim-api-key\", \"password\": \"sim-api-secret\"}"
export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/.airflow}
PYTHONPATH=$PWD:$PWD/plugins .venv/bin/python scripts/hook_smoke.py
