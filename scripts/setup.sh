#!/usr/bin/env bash
# Prepare this machine: Debian packages (mysqlclient headers, Chromium for the UI tests, database clients),
# MariaDB on 127.0.0.1:3306, PostgreSQL on 5432 and Redis on 6379 answering (the Celery deployment tests),
# and .venv with the locked requirements. Idempotent; safe to run before every command.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for package in pkg-config libmariadb-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v unshare >/dev/null || missing+=(util-linux)
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server mariadb-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${missing[@]}" >/dev/null
fi

if ! mysqladmin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; then
  echo "setup: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 60); do
    mysqladmin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1 && break
    sleep 1
  done
  mysqladmin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null
fi
# Size MariaDB for the warehouse (its defaults: a 128 MB buffer pool and a 96 MB redo log, for a fact table of
# gigabytes): a quarter of the machine's memory, at most 8 GiB, for the buffer pool and a 1 GiB redo log. Raised
# at run time (never lowered) and kept for the next start in a config file when the server reads one.
pool=$(awk '/MemTotal/ {m = $2 * 1024 / 4; cap = 8 * 2 ^ 30; printf "%d", (m > cap ? cap : m)}' /proc/meminfo)
redo=$((1 << 30))
mysql --protocol=tcp -h127.0.0.1 -P3306 -uroot -e "SET GLOBAL innodb_buffer_pool_size = GREATEST(@@innodb_buffer_pool_size, $pool); SET GLOBAL innodb_log_file_size = GREATEST(@@innodb_log_file_size, $redo)"
if [ -d /etc/mysql/mariadb.conf.d ] && [ -w /etc/mysql/mariadb.conf.d ]; then
  cat > /etc/mysql/mariadb.conf.d/90-binance-warehouse.cnf <<EOF
# written by scripts/setup.sh: the warehouse's sizes
[mariadbd]
innodb_buffer_pool_size = $pool
innodb_log_file_size = $redo
EOF
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "setup: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "setup: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

python=${PYTHON:-python3}
"$python" -c 'import sys; assert sys.version_info[:2] >= (3, 11), sys.version' \
  || { echo "setup: Python 3.11+ is required (set PYTHON=...)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
log=$(mktemp)
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt >"$log" 2>&1 \
  || { grep -v "is ignored: it is neither" "$log" >&2; echo "setup: pip install failed" >&2; exit 1; }
# The binance-airflow distribution, editable (its entry point registers the `binance` connection type with Airflow).
.venv/bin/pip install -q --disable-pip-version-check --no-deps -e . >"$log" 2>&1 \
  || { cat "$log" >&2; echo "setup: pip install -e . failed" >&2; exit 1; }
rm -f "$log"
# The project's code (include/, plugins/) on the venv's path, so `.venv/bin/python -m benchmarks.X` and the
# simulator work from any shell, as Airflow itself finds them through its dags and plugins folders.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n%s\n' "$PWD" "$PWD/plugins" > "$site/binance_etl_project.pth"
.venv/bin/python -c 'import airflow, MySQLdb' \
  || { echo "setup: the virtualenv is incomplete" >&2; exit 1; }
echo "setup: ready (.venv, MariaDB on :3306, PostgreSQL on :5432, Redis on :6379, /usr/bin/chromium)"
