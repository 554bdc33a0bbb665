#!/usr/bin/env bash
# One binance_import run, here and now (`airflow dags test`): bash scripts/import.sh SOURCE... [--conn CONN]
# [--captured-at ISO] [--exported-at ISO]. SOURCE: a source or group of include/imports/presets.yaml or of the
# binance_import_sources Variable (e.g. talend_database, talend_files). --conn: the source database, an Airflow
# connection id or a URI (mysql://user:password@host:3306/projet_crypto). The warehouse is binance_warehouse
# (default: the local MariaDB, database binance_dw) and Binance is binance_default (default: the real Binance
# API) unless AIRFLOW_CONN_BINANCE_WAREHOUSE / AIRFLOW_CONN_BINANCE_DEFAULT say otherwise. Prints the report.
set -euo pipefail
cd "$(dirname "$0")/.."
sources=() conn="" captured="" exported=""
while (($#)); do
  case "$1" in
    --conn) conn=$2; shift 2 ;;
    --captured-at) captured=$2; shift 2 ;;
    --exported-at) exported=$2; shift 2 ;;
    -*) echo "import: unknown option $1 (known: --conn, --captured-at, --exported-at)" >&2; exit 2 ;;
    *) sources+=("$1"); shift ;;
  esac
done
((${#sources[@]})) || { echo "usage: bash scripts/import.sh SOURCE... [--conn CONN] [--captured-at ISO]" >&2; exit 2; }
bash scripts/setup.sh >/dev/null
export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/.airflow}
export AIRFLOW__CORE__DAGS_FOLDER=$PWD/dags AIRFLOW__CORE__PLUGINS_FOLDER=$PWD/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES=False PYTHONPATH=$PWD:$PWD/plugins
export AIRFLOW_CONN_BINANCE_WAREHOUSE=${AIRFLOW_CONN_BINANCE_WAREHOUSE:-'{"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": "binance_dw"}'}
if [[ $conn == *://* ]]; then
  export AIRFLOW_CONN_BINANCE_IMPORT_SOURCE=$conn
  conn=binance_import_source
fi
conf=$(.venv/bin/python -c 'import json, sys; print(json.dumps({"sources": sys.argv[1].split(), "conn_id": sys.argv[2], "captured_at": sys.argv[3], "exported_at": sys.argv[4]}))' \
  "${sources[*]}" "$conn" "$captured" "$exported")
mkdir -p "$AIRFLOW_HOME"
.venv/bin/airflow db migrate >/dev/null
log=$AIRFLOW_HOME/import-run.log
status=0
.venv/bin/airflow dags test binance_import --conf "$conf" >"$log" 2>&1 || status=$?
grep -A60 "binance_import manual" "$log" | sed -E 's/^.*\] (binance_import manual)/\1/; s/ \[binance_airflow[^]]*\] loc=.*$//' \
  | grep -E "^binance_import manual|^  " || true
if ((status)) || ! grep -q "binance_import manual.*: SUCCESS" "$log"; then
  grep -E "AirflowFailException|Error: |SpecError|SourceUnreadable" "$log" | sed -E 's/^.*(AirflowFailException|Error): //' | sort -u | tail -5 >&2
  echo "import: the run failed (log: $log)" >&2
  exit 1
fi
