#!/usr/bin/env bash
# Prepare this machine: Debian packages for mysqlclient, MariaDB answering on 127.0.0.1:3306, and .venv
# with the locked requirements. Idempotent; safe to run before every command.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for package in pkg-config libmariadb-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
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

python=${PYTHON:-python3}
"$python" -c 'import sys; assert sys.version_info[:2] >= (3, 11), sys.version' \
  || { echo "setup: Python 3.11+ is required (set PYTHON=...)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
log=$(mktemp)
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt >"$log" 2>&1 \
  || { grep -v "is ignored: it is neither" "$log" >&2; echo "setup: pip install failed" >&2; exit 1; }
rm -f "$log"
.venv/bin/python -c 'import airflow, MySQLdb' \
  || { echo "setup: the virtualenv is incomplete" >&2; exit 1; }
echo "setup: ready (.venv, MariaDB on 127.0.0.1:3306)"
