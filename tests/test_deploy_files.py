"""docker-compose.yaml and the Dockerfile stay consistent with the package (no Docker engine needed)."""

from __future__ import annotations

import json
import re

import yaml

from include import settings
from tests.conftest import ROOT


def test_compose_wires_airflow_to_the_warehouse_and_binance_connections():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    env = compose["x-airflow-env"]
    warehouse = json.loads(env[f"AIRFLOW_CONN_{settings.WAREHOUSE_CONN_ID.upper()}"])
    assert warehouse["conn_type"] == "mysql"
    assert warehouse["host"] in services
    assert warehouse["schema"] == services[warehouse["host"]]["environment"]["MYSQL_DATABASE"] == "binance_dw"
    assert "--local-infile=1" in services[warehouse["host"]]["command"]
    binance = env[f"AIRFLOW_CONN_{settings.BINANCE_CONN_ID.upper()}"]
    assert '"conn_type": "http"' in binance
    assert "${BINANCE_URL:-https://api.binance.com}" in binance  # the real API unless told otherwise


def test_compose_runs_the_celery_stack_the_deployment_tests_run_natively():
    """The settings harness/airflow_stack.py proves natively are the ones the compose services get."""
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services, env = compose["services"], compose["x-airflow-env"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    native = (ROOT / "harness" / "airflow_stack.py").read_text()
    assert {key for key in env if key.startswith("AIRFLOW__") and f'"{key}"' not in native} == set()
    commands = {
        name: service["command"] for name, service in services.items() if isinstance(service.get("command"), str)
    }
    assert {"api-server", "scheduler", "dag-processor", "celery worker"} <= set(commands.values())
    assert services["airflow-worker"]["deploy"]["replicas"] == "${AIRFLOW_WORKERS:-2}"
    for name in commands:
        if name.startswith("airflow-"):
            assert services[name]["volumes"] == services["airflow-init"]["volumes"]  # shared staging
            assert services[name]["environment"]["BINANCE_ETL_STAGING_ROOT"] == "/opt/airflow/staging"
    assert {"postgres", "redis", "warehouse"} <= set(services)
    stream = services["binance-stream"]  # the real-time service: same image, code and connections as the workers
    assert stream["command"] == ["python", "-m", "binance_airflow.stream"]
    assert stream["environment"]["AIRFLOW_CONN_BINANCE_WAREHOUSE"] == env["AIRFLOW_CONN_BINANCE_WAREHOUSE"]
    assert json.loads(stream["environment"]["AIRFLOW_CONN_AIRFLOW_API"])["host"] == "http://airflow-apiserver:8080"


def test_dockerfile_installs_the_pinned_requirements_and_ships_the_code():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "libmariadb-dev" in dockerfile
    assert "-r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt" in dockerfile
    for folder in ("dags", "plugins", "include"):
        assert f"COPY {folder} /opt/airflow/{folder}" in dockerfile
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
    compose = yaml.safe_load(text)
    env, services = compose["x-airflow-env"], compose["services"]
    assert "replace-me" not in text and "admin:admin@" not in text
    assert json.loads(env["AIRFLOW_CONN_BINANCE_WAREHOUSE"])["login"] == "binance_writer"
    assert json.loads(env["AIRFLOW_CONN_BINANCE_WAREHOUSE_READER"])["login"] == "binance_reader"
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
