"""The reusable parts as a distribution: ``pip install`` of the repository's wheel into a fresh virtualenv lets a
stand-alone DAG, outside this project, use the hook against the simulator; Airflow there knows the ``binance``
connection type from the wheel's entry point. The virtualenv borrows the third-party dependencies (Airflow, …)
from ``.venv`` through a ``.pth`` line instead of downloading them again; this package's own files come only from
its wheel (the test checks where they were imported from)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, Sim, connection_uri

pytestmark = pytest.mark.dag

STANDALONE_DAG = """
from datetime import UTC, datetime

from airflow.providers_manager import ProvidersManager
from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC), catchup=False)
def another_teams_dag():
    @task
    def count_candles() -> int:
        import binance_airflow
        from binance_airflow.binance.hook import BinanceHook

        candles = list(BinanceHook().iter_klines("BTCUSDT", "1h", datetime(2024, 5, 1, tzinfo=UTC),
                                                  datetime(2024, 5, 2, tzinfo=UTC)))
        print("CANDLES", len(candles), "FROM", binance_airflow.__file__)
        return len(candles)

    count_candles()


if __name__ == "__main__":
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    provider = ProvidersManager().providers["binance-airflow"]
    print("PROVIDER", provider.version, [c["connection-type"] for c in provider.data["connection-types"]])
    print("STATE", DagBag(dag_folder=str(Path(__file__).parent)).dags["another_teams_dag"].test().state)
else:
    another_teams_dag()
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of what the distribution holds (setuptools leaves build/ behind in the tree it builds)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("plugins/binance_airflow", "include"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    subprocess.run(build, check=True, capture_output=True)
    return next(out.glob("binance_airflow-*.whl"))


def test_the_wheel_holds_the_client_the_loader_their_sql_and_the_provider_entry_point(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("binance/hook.py", "binance/sensor.py", "warehouse/loads.py", "warehouse/schema.py"):
        assert f"binance_airflow/{module}" in names
    assert "include/sql/views/v_daily_ohlcv.sql" in names  # the SQL the loader and schema read at run time
    assert not [name for name in names if name.startswith(("tests/", "harness/", "dags/", "benchmarks/"))]
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[apache_airflow_provider]" in text and "binance_airflow.provider_info:get_provider_info" in text


def test_a_standalone_dag_in_a_fresh_virtualenv_uses_the_installed_hook(
    wheel: Path, tmp_path: Path, sim: Sim, airflow_db: None
):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)]
    subprocess.run(install, check=True, capture_output=True)

    elsewhere = tmp_path / "another_project"
    (elsewhere / "dags").mkdir(parents=True)
    (elsewhere / "plugins").mkdir()
    (elsewhere / "dags" / "another_teams_dag.py").write_text(STANDALONE_DAG)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env |= {
        "AIRFLOW__CORE__DAGS_FOLDER": str(elsewhere / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(elsewhere / "plugins"),
        "AIRFLOW_CONN_BINANCE_DEFAULT": connection_uri(sim.base_url),
    }
    run = subprocess.run(
        [python, "dags/another_teams_dag.py"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "PROVIDER 1.0.0 ['binance']" in output, output[-3000:]
    assert f"CANDLES 24 FROM {site}/binance_airflow/__init__.py" in output, output[-3000:]
    assert "STATE success" in output.replace("DagRunState.SUCCESS", "success"), output[-3000:]
