"""A real Airflow deployment on loopback for the operating tests: api-server, scheduler, dag-processor,
triggerer and CeleryExecutor workers, with the machine's PostgreSQL as metadata DB and its Redis as broker.

Each worker runs in its own UTS namespace (``unshare --uts``) under its own hostname, as the containers of
docker-compose.yaml do, so task instances record which worker ran them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from harness.auth_manager import GRANTS_ENV

ROOT = Path(__file__).resolve().parents[1]

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PG_DSN = "postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
DAG_IDS = ("binance_etl", "binance_forecast")
USER, PASSWORD = "admin", "stack-" + secrets.token_hex(6)
VIEWER, VIEWER_PASSWORD = "viewer", "stack-" + secrets.token_hex(6)  # the simple auth manager's read-only role
# A viewer granted one connection more: the second Binance account's (harness/auth_manager.py)
ANALYST, ANALYST_PASSWORD, ANALYST_GRANT = "analyst", "stack-" + secrets.token_hex(6), "binance_account_b"


# What each component is not given on the CeleryExecutor stack, as docker-compose.yaml gives each service only
# what it needs (tests/test_deploy_files.py checks that both agree), so the deployment tests prove the stack runs
# that way: the JWT secret only where tokens are signed and verified, the Binance key pair and the writer only
# on the workers, the reader only on the api-server (the dashboard), the users' passwords file only there too.
# With LocalExecutor the scheduler runs the tasks itself and keeps everything.
JWT, PASSWORDS = "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
BINANCE, WRITER, READER = (
    "AIRFLOW_CONN_BINANCE_DEFAULT",
    "AIRFLOW_CONN_BINANCE_WAREHOUSE",
    "AIRFLOW_CONN_BINANCE_WAREHOUSE_READER",
)
ACCOUNT_B = "AIRFLOW_CONN_BINANCE_ACCOUNT_B"  # a second Binance account's key pair: the workers' alone
WITHHELD = {
    "api-server": (BINANCE, ACCOUNT_B, WRITER),
    "scheduler": (BINANCE, ACCOUNT_B, WRITER, READER, PASSWORDS),
    "dag-processor": (JWT, BINANCE, ACCOUNT_B, WRITER, READER, PASSWORDS),
    "worker": (JWT, READER, PASSWORDS),
    "triggerer": (JWT, ACCOUNT_B, WRITER, READER, PASSWORDS),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


class AirflowStack:
    """Start with ``start()``, stop with ``stop()``; ``api()`` calls the REST API as the admin user."""

    def __init__(self, home: Path, connections: dict[str, str], workers: tuple[str, ...], database: str):
        self.home, self.workers, self.database = home, workers, database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_db = 11
        self.processes: list[tuple[str, subprocess.Popen, IO[str]]] = []
        self._token: str | None = None
        home.mkdir(parents=True, exist_ok=True)
        passwords = {USER: PASSWORD, VIEWER: VIEWER_PASSWORD, ANALYST: ANALYST_PASSWORD}
        (home / "passwords.json").write_text(json.dumps(passwords))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "BINANCE_ETL"))},
            **connections,
            "AIRFLOW_HOME": str(home),
            "PYTHONPATH": str(ROOT),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin,{VIEWER}:viewer,{ANALYST}:viewer",
            "AIRFLOW__CORE__AUTH_MANAGER": "harness.auth_manager.ConnectionGrantingAuthManager",
            GRANTS_ENV: f"{ANALYST}={ANALYST_GRANT}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": PG_DSN.format(db=database),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{self.redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + PG_DSN.format(db=database),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",  # waits defer to the triggerer, as in compose
            "BINANCE_ETL_PING_INTERVAL": "2",
            # A schedule that starts today has nothing due yet: only the runs the tests trigger happen.
            "BINANCE_ETL_START_DATE": time.strftime("%Y-%m-%d", time.gmtime()),
            "BINANCE_ETL_SYMBOLS": "BTCUSDT,ETHUSDT",
            "BINANCE_ETL_STAGING_ROOT": str(home / "staging"),
        }

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 240) -> None:
        self._reset_backends()
        migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=self.env, capture_output=True, text=True, cwd=ROOT)
        if migrate.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
        self._spawn(
            "api-server", [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port)], role="api-server"
        )
        self._spawn("scheduler", [AIRFLOW, "scheduler"], role="scheduler")
        self._spawn("dag-processor", [AIRFLOW, "dag-processor"], role="dag-processor")
        self._spawn("triggerer", [AIRFLOW, "triggerer"], role="triggerer")
        for name in self.workers:
            env = {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
            command = [
                "unshare",
                "--uts",
                "sh",
                "-c",
                'hostname "$0" && exec "$@"',
                name,
                AIRFLOW,
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@%h",
            ]
            self._spawn(name, command, env, role="worker")
        deadline = time.monotonic() + timeout
        self._wait(lambda: self._healthy(), deadline, "the api-server to answer")
        for dag_id in DAG_IDS:
            parsed = f"/api/v2/dags/{dag_id}"
            self._wait(lambda path=parsed: self.api("GET", path) is not None, deadline, f"{dag_id} to parse")
            self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        self._wait(self._workers_ready, deadline, "both celery workers to be ready")

    def stop(self) -> None:
        """SIGTERM each component's process group (workers' pools and log servers too), then SIGKILL."""
        for _, process, _ in self.processes:
            _signal_group(process, signal.SIGTERM)
        for _, process, log in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _signal_group(process, signal.SIGKILL)
            log.close()
        self.processes.clear()

    def logs(self) -> str:
        """The tail of every component's output, for a failure message."""
        return "\n".join(
            f"--- {name}\n" + (self.home / f"{name}.log").read_text()[-3000:] for name, _, _ in self.processes
        )

    def _reset_backends(self) -> None:
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"], check=True)
        subprocess.run([*psql, f"CREATE DATABASE {self.database}"], check=True)
        subprocess.run(["redis-cli", "-n", str(self.redis_db), "FLUSHDB"], check=True, capture_output=True)
        shutil.rmtree(self.home / "logs", ignore_errors=True)

    def _spawn(self, name: str, command: list[str], extra_env: dict[str, str] | None = None, role: str = "") -> None:
        log = (self.home / f"{name}.log").open("w")
        withheld = WITHHELD.get(role, ()) if self.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor" else ()
        process = subprocess.Popen(
            command,
            env={k: v for k, v in {**self.env, **(extra_env or {})}.items() if k not in withheld},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        self.processes.append((name, process, log))

    def _wait(self, ready: Any, deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            dead = [name for name, process, _ in self.processes if process.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}\n{self.logs()}")
            try:
                if ready():
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(1)
        raise TimeoutError(f"timed out waiting for {what}\n{self.logs()}")

    def _healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as response:
            return response.status == 200

    def _workers_ready(self) -> bool:
        return all("ready." in (self.home / f"{name}.log").read_text() for name in self.workers)

    def cli(self, *args: str) -> str:
        """``airflow ARGS`` against this deployment's metadata database; its output (fails loudly)."""
        done = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, cwd=ROOT, timeout=120)
        if done.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    # -- REST API --------------------------------------------------------------------------------

    def token(self, user: str = USER, password: str = PASSWORD) -> str:
        """A bearer token of ``user`` (the admin's is kept)."""
        if user != USER or self._token is None:
            body = json.dumps({"username": user, "password": password}).encode()
            request = urllib.request.Request(
                f"{self.url}/auth/token", data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                token = json.loads(response.read())["access_token"]
            if user != USER:
                return token
            self._token = token
        return self._token

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """JSON from the REST API; None on 404."""
        headers = {"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise RuntimeError(f"{method} {path}: HTTP {err.code} {err.read()[:500]!r}") from None

    def wait_for_run(self, run_id: str, timeout: float = 300, dag_id: str = "binance_etl") -> str:
        """The final state of a DAG run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise TimeoutError(f"{dag_id} run {run_id} did not finish in {timeout} s\n{self.logs()}")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=100")["dag_runs"]

    def backfill(self, from_date: str, to_date: str, *args: str, timeout: float = 600) -> list[dict[str, Any]]:
        """``airflow backfill create`` of binance_etl from ``from_date`` to ``to_date``; once the backfill is
        complete, the runs it made (by logical date, oldest first)."""
        self.cli("backfill", "create", "--dag-id", "binance_etl", "--from-date", from_date, "--to-date", to_date, *args)
        backfills = self.api("GET", "/api/v2/backfills?dag_id=binance_etl")["backfills"]
        (created,) = [b for b in backfills if b["completed_at"] is None]
        deadline = time.monotonic() + timeout
        while not self.api("GET", f"/api/v2/backfills/{created['id']}")["completed_at"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfill {from_date} → {to_date} not complete in {timeout} s\n{self.logs()}")
            time.sleep(3)
        runs = self.api("GET", "/api/v2/dags/binance_etl/dagRuns?limit=100&run_type=backfill")["dag_runs"]
        made = [run for run in runs if from_date <= run["logical_date"][:10] <= to_date]
        return sorted(made, key=lambda run: run["logical_date"])

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/binance_etl/dagRuns/{run_id}/taskInstances?limit=1000"
        return self.api("GET", path)["task_instances"]
