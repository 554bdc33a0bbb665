"""Adding a staged table is what the README says: one SQL file, one transform function, one registry entry.

The three steps are made in a copy of the project; binance_etl, parsed and run from that copy, then has the
table's transform, load, gate and publish tasks, and loads it after the table its foreign key names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import MySQLdb
import pytest

from tests.conftest import ROOT, WAREHOUSE_DB, Sim, connection_uri
from tests.dag_runs import DAY, query

pytestmark = pytest.mark.dag

# Step 1: the table's DDL.
DDL = """CREATE TABLE IF NOT EXISTS dim_symbol_asset (
    symbol VARCHAR(20) NOT NULL PRIMARY KEY,
    base_asset VARCHAR(20) NOT NULL,
    quote_asset VARCHAR(20) NOT NULL,
    CONSTRAINT fk_symbol_asset_symbol FOREIGN KEY (symbol) REFERENCES dim_symbol (symbol)
) ENGINE=InnoDB;
"""
# Step 2: its transform, (the raw capture, the run's window) -> rows.
TRANSFORM = '''

def stage_symbol_assets(exchange_info, _window):
    """A toy table: each symbol's base and quote asset."""
    return [(s["symbol"], s["baseAsset"], s["quoteAsset"]) for s in exchange_info["symbols"]]
'''
# Step 3: its registry entry.
ENTRY = """        Table(
            "dim_symbol_asset",
            ("symbol", "base_asset", "quote_asset"),
            ("symbol",),
            Gate("'TRUE'", {"rows_match_extracted": f"COUNT(*) = {loaded_rows('dim_symbol_asset')}"}),
            EXCHANGE_INFO,
            snapshots.stage_symbol_assets,
        ),
"""
RUN = """
import json, sys
from datetime import datetime

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
assert bag.import_errors == {}, bag.import_errors
dag = bag.dags["binance_etl"]
steps = ("transform", "load", "check", "publish")
upstream = {f"{s}_dim_symbol_asset": sorted(dag.get_task(f"{s}_dim_symbol_asset").upstream_task_ids) for s in steps}
run = dag.test(run_conf=json.loads(sys.argv[2]), logical_date=datetime.fromisoformat(sys.argv[3]))
print(json.dumps({"upstream": upstream, "state": str(run.state)}))
"""


def add_the_table(project: Path) -> None:
    """The README's three steps, in ``project`` (a copy of this repository's dags, plugins and include)."""
    (project / "include" / "sql" / "dim_symbol_asset.sql").write_text(DDL)
    snapshots = project / "include" / "transforms" / "snapshots.py"
    snapshots.write_text(snapshots.read_text() + TRANSFORM)
    tables = project / "plugins" / "binance_airflow" / "warehouse" / "tables.py"
    text = tables.read_text()
    assert text.count('        Table("etl_run_log"') == 1
    tables.write_text(text.replace('        Table("etl_run_log"', ENTRY + '        Table("etl_run_log"'))


def test_a_table_added_by_one_entry_one_sql_file_and_one_transform_gets_its_tasks_and_loads(
    airflow_db: None, warehouse: MySQLdb.Connection, sim: Sim, tmp_path: Path
):
    project = tmp_path / "project"
    for folder in ("dags", "plugins", "include"):
        shutil.copytree(ROOT / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__"))
    add_the_table(project)
    end = DAY + timedelta(hours=2)
    conf = {"symbols": ["BTCUSDT", "ETHUSDT"], "interval": "1h", "start": DAY.isoformat(), "end": end.isoformat()}
    env = os.environ | {
        "PYTHONPATH": f"{project}:{project / 'plugins'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project / "plugins"),
        "AIRFLOW_CONN_BINANCE_DEFAULT": connection_uri(sim.base_url),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(project / "dags"), json.dumps(conf), end.isoformat()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["state"] == "success", done.stdout[-4000:]
    assert result["upstream"] == {
        "transform_dim_symbol_asset": ["extract_exchange_info", "plan"],
        "load_dim_symbol_asset": ["load_dim_symbol", "transform_dim_symbol_asset"],  # after the table it references
        "check_dim_symbol_asset": ["load_dim_symbol_asset"],
        "publish_dim_symbol_asset": ["check_dim_symbol_asset", "load_dim_symbol_asset"],
    }
    assert query(warehouse, f"SELECT * FROM {WAREHOUSE_DB}.dim_symbol_asset ORDER BY symbol") == [
        ("BTCUSDT", "BTC", "USDT"),
        ("ETHUSDT", "ETH", "USDT"),
    ]
