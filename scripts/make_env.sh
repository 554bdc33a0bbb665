#!/usr/bin/env bash
# Writes ./.env with strong random secrets for docker-compose.yaml, once: an existing .env is kept as it is
# (its secrets are those of the volumes already initialised). Hex values, safe inside the connection JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -e .env ]; then
  echo ".env exists: kept (delete it, and the compose volumes, to start over)"
  exit 0
fi
umask 077
secret() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }
{
  echo "AIRFLOW_JWT_SECRET=$(secret)"
  echo "AIRFLOW_ADMIN_PASSWORD=$(secret)"
  echo "AIRFLOW_DB_PASSWORD=$(secret)"
  echo "BINANCE_STREAM_API_PASSWORD=$(secret)"
  echo "WAREHOUSE_ROOT_PASSWORD=$(secret)"
  echo "WAREHOUSE_WRITER_PASSWORD=$(secret)"
  echo "WAREHOUSE_READER_PASSWORD=$(secret)"
} > .env
echo "wrote .env (mode 600): the admin password is AIRFLOW_ADMIN_PASSWORD in it"
