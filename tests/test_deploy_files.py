"""docker-compose.yaml and the Dockerfile stay consistent with the package (no Docker engine needed)."""

from __future__ import annotations

import json

import yaml

from include import settings
from tests.conftest import ROOT


def test_compose_wires_airflow_to_the_warehouse_and_binance_connections():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    env = services["airflow"]["environment"]
    warehouse = json.loads(env[f"AIRFLOW_CONN_{settings.WAREHOUSE_CONN_ID.upper()}"])
    assert warehouse["conn_type"] == "mysql"
    assert warehouse["host"] in services
    assert warehouse["schema"] == services[warehouse["host"]]["environment"]["MYSQL_DATABASE"] == "binance_dw"
    assert "--local-infile=1" in services[warehouse["host"]]["command"]
    binance = env[f"AIRFLOW_CONN_{settings.BINANCE_CONN_ID.upper()}"]
    assert '"conn_type": "http"' in binance
    assert "${BINANCE_URL:-https://api.binance.com}" in binance  # the real API unless told otherwise
    assert set(services["airflow"]["depends_on"]) == {"postgres", warehouse["host"]}


def test_dockerfile_installs_the_pinned_requirements_and_ships_the_code():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "libmariadb-dev" in dockerfile
    assert "-r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt" in dockerfile
    for folder in ("dags", "plugins", "include"):
        assert f"COPY {folder} /opt/airflow/{folder}" in dockerfile
    assert "apache-airflow==3.3.2" in (ROOT / "requirements.txt").read_text()
