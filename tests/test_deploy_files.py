"""docker-compose.yaml and the Dockerfile stay consistent with the package (no Docker engine needed)."""

from __future__ import annotations

import json
import re

import yaml

from harness.airflow_stack import ACCOUNT_B, WITHHELD
from include import settings
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
ENV = {name: service.get("environment") or {} for name, service in SERVICES.items()}
NATIVE = {  # compose service -> the harness's component proving it natively
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "worker",
    "airflow-triggerer": "triggerer",
}


def test_compose_wires_airflow_to_the_warehouse_and_binance_connections():
    services = SERVICES
    env = ENV["airflow-worker"]
    warehouse = json.loads(env[f"AIRFLOW_CONN_{settings.WAREHOUSE_CONN_ID.upper()}"])
    assert warehouse["conn_type"] == "mysql"
    assert warehouse["host"] in services
    assert warehouse["schema"] == services[warehouse["host"]]["environment"]["MYSQL_DATABASE"] == "binance_dw"
    assert "--local-infile=1" in services[warehouse["host"]]["command"]
    # sized for a fact table of gigabytes, not MySQL's 128 MB default buffer pool
    assert any(arg.startswith("--innodb-buffer-pool-size=") for arg in services[warehouse["host"]]["command"])
    binance = env[f"AIRFLOW_CONN_{settings.BINANCE_CONN_ID.upper()}"]
    assert '"conn_type": "binance"' in binance  # the package's connection type (an http one works too)
    assert "${BINANCE_URL:-https://api.binance.com}" in binance  # the real API unless told otherwise


def test_compose_runs_the_celery_stack_the_deployment_tests_run_natively():
    """The settings harness/airflow_stack.py proves natively are the ones the compose services get."""
    services, env = SERVICES, {key: value for name in NATIVE for key, value in ENV[name].items()}
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    native = (ROOT / "harness" / "airflow_stack.py").read_text()
    assert {key for key in env if key.startswith("AIRFLOW__") and f'"{key}"' not in native} == set()
    commands = {
        name: service["command"] for name, service in services.items() if isinstance(service.get("command"), str)
    }
    assert {"api-server", "scheduler", "dag-processor", "triggerer", "celery worker"} <= set(commands.values())
    assert services["airflow-worker"]["deploy"]["replicas"] == "${AIRFLOW_WORKERS:-2}"
    for name in commands:
        if name.startswith("airflow-"):
            assert services[name]["environment"]["BINANCE_ETL_STAGING_ROOT"] == "/opt/airflow/staging"
    assert "staging:/opt/airflow/staging" in services["airflow-worker"]["volumes"]  # shared by every worker
    assert {"postgres", "redis", "warehouse"} <= set(services)
    stream = services["binance-stream"]  # the real-time service: same image, code and connections as the workers
    assert stream["command"] == ["python", "-m", "binance_airflow.stream"]
    assert (
        stream["environment"]["AIRFLOW_CONN_BINANCE_WAREHOUSE"]
        == ENV["airflow-worker"]["AIRFLOW_CONN_BINANCE_WAREHOUSE"]
    )
    assert json.loads(stream["environment"]["AIRFLOW_CONN_AIRFLOW_API"])["host"] == "http://airflow-apiserver:8080"


def test_dockerfile_installs_the_pinned_requirements_and_ships_the_code():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "libmariadb-dev" in dockerfile
    assert "-r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt" in dockerfile
    for folder in ("dags", "plugins", "include"):
        assert f"COPY {folder} /opt/airflow/{folder}" in dockerfile
    assert "RUN pip install --no-cache-dir --no-deps /opt/airflow" in dockerfile  # the binance connection type
    assert "RUN mkdir -p /opt/airflow/staging /opt/airflow/auth && chmod g+rwx" in dockerfile
    requirements = (ROOT / "requirements.txt").read_text()
    assert "apache-airflow==3.3.2" in requirements
    assert "apache-airflow-providers-celery==" in requirements


def test_no_secret_in_the_deployment_has_a_usable_default():
    """Compose refuses to start without each secret (``${VAR:?…}``); scripts/make_env.sh writes strong ones."""
    text = (ROOT / "docker-compose.yaml").read_text()
    secret_vars = set(re.findall(r"\$\{([A-Z_]*(?:PASSWORD|SECRET)[A-Z_]*)", text))
    required = {
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_ADMIN_PASSWORD",
        "AIRFLOW_DB_PASSWORD",
        "WAREHOUSE_ROOT_PASSWORD",
        "WAREHOUSE_WRITER_PASSWORD",
        "WAREHOUSE_READER_PASSWORD",
        "BINANCE_STREAM_API_PASSWORD",
    }
    assert required == secret_vars - {"BINANCE_API_SECRET"}  # the Binance key pair is optional (public data only)
    for name in required:
        uses = re.findall(rf"(?<!\$)\$\{{{name}([^}}]*)\}}", text)  # not $${…}: the shell's, inside a command
        assert uses and all(use.startswith(":?") for use in uses), (name, uses)
    services = SERVICES
    assert "replace-me" not in text and "admin:admin@" not in text
    assert json.loads(ENV["airflow-worker"]["AIRFLOW_CONN_BINANCE_WAREHOUSE"])["login"] == "binance_writer"
    assert json.loads(ENV["airflow-apiserver"]["AIRFLOW_CONN_BINANCE_WAREHOUSE_READER"])["login"] == "binance_reader"
    assert "AIRFLOW_CONN_BINANCE_WAREHOUSE_ADMIN" in services["airflow-init"]["environment"]
    assert all(
        "ADMIN" not in key
        for name, s in services.items()
        if name != "airflow-init"
        for key in (s.get("environment") or {})
    )
    assert "python -m binance_airflow.warehouse.roles" in services["airflow-init"]["command"][-1]
    assert json.loads(services["binance-stream"]["environment"]["AIRFLOW_CONN_AIRFLOW_API"])["login"] != "admin"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


# Which services may hold each secret: the JWT secret where Airflow's tokens are signed and verified, the Binance
# key pair where Binance is called with it, the warehouse passwords where the warehouse is written or read.
HOLDERS = {
    "AIRFLOW_JWT_SECRET": {"airflow-apiserver", "airflow-scheduler"},
    "BINANCE_API_SECRET": {"airflow-worker"},
    "BINANCE_API_KEY": {"airflow-worker"},
    "WAREHOUSE_WRITER_PASSWORD": {"airflow-init", "airflow-worker", "binance-stream"},
    "WAREHOUSE_READER_PASSWORD": {"airflow-init", "airflow-apiserver"},
    "WAREHOUSE_ROOT_PASSWORD": {"airflow-init", "warehouse"},
    "AIRFLOW_ADMIN_PASSWORD": {"airflow-init"},
    "BINANCE_STREAM_API_PASSWORD": {"airflow-init", "binance-stream"},
    "AIRFLOW_DB_PASSWORD": {"postgres", *NATIVE, "airflow-init", "binance-stream"},
}


def test_each_compose_service_holds_only_its_own_secrets():
    """Every service used to get every secret: the stream service could mint an admin token with the JWT secret."""
    holding = {
        name: {var for var in HOLDERS if any(f"${{{var}" in str(value) for value in ENV[name].values())}
        for name in SERVICES
    }
    assert {var: {name for name in SERVICES if var in holding[name]} for var in HOLDERS} == HOLDERS
    mounts = {name: [str(v).split(":")[0] for v in SERVICES[name].get("volumes", [])] for name in SERVICES}
    assert {name for name, volumes in mounts.items() if "auth" in volumes} == {"airflow-init", "airflow-apiserver"}
    assert "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" not in str(
        {name: env for name, env in ENV.items() if name != "airflow-apiserver"}
    )


def test_no_password_is_on_a_command_line():
    """The warehouse's health check put the root password on mysqladmin's command line (seen by ps)."""
    for name, service in SERVICES.items():
        commands = [service.get("command"), (service.get("healthcheck") or {}).get("test")]
        text = json.dumps(commands)
        assert not re.search(r"[\s\"]-p[\w\"'$\\]|--password", text), (name, text)


def test_the_native_stack_withholds_what_compose_withholds():
    """The deployment tests run each component without what its compose service lacks, proving it needs no more."""
    secret_keys = {key for env in ENV.values() for key in env if key.startswith("AIRFLOW_CONN_") or "SECRET" in key}
    secret_keys |= {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"}
    for service, component in NATIVE.items():
        lacking = {key for key in secret_keys if key not in ENV[service]} - {
            "AIRFLOW_CONN_BINANCE_WAREHOUSE_ADMIN",
            "AIRFLOW_CONN_AIRFLOW_API",
        }
        # the tests' second Binance account is withheld exactly where binance_default's key pair is (but the
        # triggerer, which pings with the public connection only)
        assert lacking == set(WITHHELD[component]) - {ACCOUNT_B}, (service, lacking, WITHHELD[component])
        assert (ACCOUNT_B in WITHHELD[component]) == (component != "worker")
