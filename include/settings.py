"""Everything a user tunes, in one place; each value can be overridden by an environment variable."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BINANCE_CONN_ID = os.environ.get("BINANCE_ETL_BINANCE_CONN", "binance_default")
# The Binance accounts whose balances binance_etl reads: one Airflow connection each (its API key pair); each
# is an account of the warehouse named by its connection id. The first holds the rows of warehouses from before
# accounts (DEFAULT_ACCOUNT).
ACCOUNTS = [a.strip() for a in os.environ.get("BINANCE_ETL_ACCOUNTS", BINANCE_CONN_ID).split(",") if a.strip()]
DEFAULT_ACCOUNT = "binance_default"
WAREHOUSE_CONN_ID = os.environ.get("BINANCE_ETL_WAREHOUSE_CONN", "binance_warehouse")
# Read-only warehouse user for the dashboard (and BI tools); the warehouse connection when not defined.
WAREHOUSE_READER_CONN_ID = os.environ.get("BINANCE_ETL_WAREHOUSE_READER_CONN", "binance_warehouse_reader")
# The warehouse database is the warehouse connection's schema; this env var overrides it when set, and
# "binance_dw" is used when neither says (see binance_airflow.warehouse.database).
WAREHOUSE_DATABASE_ENV = "BINANCE_ETL_WAREHOUSE_DB"
DEFAULT_WAREHOUSE_DATABASE = "binance_dw"
NOTIFY_CONN_ID = os.environ.get("BINANCE_ETL_NOTIFY_CONN", "binance_notify")
STAGING_ROOT = Path(os.environ.get("BINANCE_ETL_STAGING_ROOT", Path(tempfile.gettempdir()) / "binance_etl"))
INBOX_ROOT = Path(os.environ.get("BINANCE_ETL_INBOX", Path(tempfile.gettempdir()) / "binance_etl_inbox"))
# Files the binance_import DAG reads (sources of kind files name glob patterns under it); read in place, never moved.
IMPORT_ROOT = Path(os.environ.get("BINANCE_ETL_IMPORT_ROOT", Path(tempfile.gettempdir()) / "binance_etl_import"))
# The Airflow Variable holding your own import sources (JSON, the shape of include/imports/presets.yaml).
IMPORT_SOURCES_VARIABLE = "binance_import_sources"
# Rows fetched from a source database per round trip (a server-side cursor: memory stays bounded).
IMPORT_CHUNK_ROWS = int(os.environ.get("BINANCE_ETL_IMPORT_CHUNK_ROWS", "50000"))
MAX_IMPORT_FILE_BYTES = int(float(os.environ.get("BINANCE_ETL_MAX_IMPORT_FILE_MB", "256")) * 2**20)
KEEP_STAGING = os.environ.get("BINANCE_ETL_KEEP_STAGING", "false").lower() in ("1", "true", "yes")
# Redis URL holding the REST weight budget shared by every process and worker calling Binance from this
# deployment (e.g. redis://redis:6379/1); unset: each process counts its own weight.
WEIGHT_REDIS_URL = os.environ.get("BINANCE_ETL_WEIGHT_REDIS") or None
# Most kline task instances per step and run, whatever the number of symbols (symbols go in batches).
KLINE_BATCHES = int(os.environ.get("BINANCE_ETL_KLINE_BATCHES", "64"))
# Kline batches loaded at once per run: each load is one MariaDB connection, which uses one server core.
KLINE_LOADS = int(os.environ.get("BINANCE_ETL_KLINE_LOADS", "2"))
EXTRACT_WORKERS = int(os.environ.get("BINANCE_ETL_EXTRACT_WORKERS", "4"))
# The longest Retry-After (seconds) a 429 may ask for; a longer demand fails the request naming it.
MAX_RETRY_AFTER_S = int(os.environ.get("BINANCE_ETL_MAX_RETRY_AFTER", "300"))
# The lowest per-minute REQUEST_WEIGHT limit an exchangeInfo may state (Binance's own is 6000): below it the
# budget's ceiling could not hold one ordinary request, so such an answer is refused.
MIN_WEIGHT_LIMIT = int(os.environ.get("BINANCE_ETL_MIN_WEIGHT_LIMIT", "50"))
# Bounded reading of what servers send: a REST body, an archive download, the CSV inside an archive (its size
# and its compression ratio, both checked before it is read; kline CSVs compress about 3-10 times).
MAX_BODY_BYTES = int(float(os.environ.get("BINANCE_ETL_MAX_BODY_MB", "64")) * 2**20)
MAX_DOWNLOAD_BYTES = int(float(os.environ.get("BINANCE_ETL_MAX_DOWNLOAD_MB", "512")) * 2**20)
MAX_ARCHIVE_MEMBER_BYTES = int(float(os.environ.get("BINANCE_ETL_MAX_ARCHIVE_MB", "1024")) * 2**20)
MAX_ARCHIVE_RATIO = float(os.environ.get("BINANCE_ETL_MAX_ARCHIVE_RATIO", "100"))
# The largest file the inbox reads (larger ones are rejected unread).
MAX_INBOX_FILE_BYTES = int(float(os.environ.get("BINANCE_ETL_MAX_INBOX_MB", "64")) * 2**20)
# How often the binance_up sensor pings while Binance does not answer (seconds).
PING_INTERVAL_S = float(os.environ.get("BINANCE_ETL_PING_INTERVAL", "30"))
# The longest a task may run before Airflow stops it (seconds): most tasks, and the kline tasks and the
# reconciliation, whose work grows with the window (a whole year of a batch of symbols).
TASK_TIMEOUT_S = int(os.environ.get("BINANCE_ETL_TASK_TIMEOUT", "3600"))
KLINE_TASK_TIMEOUT_S = int(os.environ.get("BINANCE_ETL_KLINE_TASK_TIMEOUT", "21600"))
# First retry delay of a failed task (doubling on each retry, two retries).
RETRY_DELAY_S = float(os.environ.get("BINANCE_ETL_RETRY_DELAY", "30"))
# Days of rolling origins in the forecast backtest (one refit per day).
FORECAST_BACKTEST_FOLDS = int(os.environ.get("BINANCE_ETL_FORECAST_FOLDS", "7"))
DEFAULT_SYMBOLS = os.environ.get("BINANCE_ETL_SYMBOLS", "BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT,XRPUSDT").split(",")
DEFAULT_INTERVAL = os.environ.get("BINANCE_ETL_INTERVAL", "1h")
# Catch up on every period since START_DATE (true), or only ever run for yesterday (false).
CATCHUP = os.environ.get("BINANCE_ETL_CATCHUP", "true").lower() in ("1", "true", "yes")
# First UTC day of history the schedule covers (catchup backfills from here).
START_DATE = datetime.fromisoformat(os.environ.get("BINANCE_ETL_START_DATE", "2018-01-01")).replace(tzinfo=UTC)
SQL_DIR = Path(__file__).resolve().parent / "sql"
