"""Every command the README and the pages of docs/ show runs as written from a fresh shell (benchmarks on a tiny
input)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, connection_uri

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS = "\n".join(page.read_text() for page in PAGES)
TEST_COMMAND = (
    "bash scripts/setup.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports"
    " && .venv/bin/python -m pytest"
)
# Commands are what the README shows in a ```bash block, or as inline code run through bash or the venv.
COMMANDS = sorted(
    {line.strip() for block in re.findall(r"```bash\n(.*?)```", DOCS, re.DOTALL) for line in block.splitlines()}
    | set(re.findall(r"`((?:bash|\.venv/bin/\S+) [^`]+)`", DOCS))
)


def test_no_command_leans_on_a_tool_a_fresh_shell_does_not_have():
    """``python``, ``pip`` or ``docker`` at the start of inline code would be a command that fails here."""
    assert re.findall(r"`((?:python3?|pip3?|docker|docker-compose|mysql) [^`]*)`", DOCS) == []


FRESH_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ["HOME"]}  # nothing of this process's


def fresh_shell(command: str, timeout: float, **extra_env: str) -> subprocess.CompletedProcess:
    """``command`` in bash with a fresh shell's environment."""
    env = {**FRESH_ENV, **extra_env}
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def first_line_of(command: str) -> str:
    """Start a server ``command`` in a fresh shell, read the first line it prints, stop it."""
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=ROOT,
        env=FRESH_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        return server.stdout.readline()
    finally:
        server.kill()
        server.wait(timeout=10)


def check_make_env(tmp_path: Path) -> None:
    """The secrets script, run in a copy of the project's scripts/ (it writes ``.env`` beside it): a file
    only its owner reads, every secret compose requires, strong and distinct; a second run keeps it."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "make_env.sh", tmp_path / "scripts")
    for _ in range(2):
        done = subprocess.run(
            ["bash", "scripts/make_env.sh"], cwd=tmp_path, env=FRESH_ENV, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    env = tmp_path / ".env"
    values = dict(line.split("=", 1) for line in env.read_text().splitlines())
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (ROOT / "docker-compose.yaml").read_text()))
    assert set(values) == required and stat.S_IMODE(env.stat().st_mode) == 0o600
    assert len(set(values.values())) == len(values) and all(len(v) >= 32 for v in values.values())
    assert "exists: kept" in done.stdout


def test_the_readme_shows_the_two_commands_and_the_test_command_is_what_ci_runs():
    assert "bash scripts/demo.sh" in COMMANDS and TEST_COMMAND in COMMANDS
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith(TEST_COMMAND)


def check_import(command: str, tmp_path: Path, sim_url: str) -> subprocess.CompletedProcess:
    """An import command against what it names: the Talend database built as ``projet_crypto`` in the local
    MariaDB, the Talend files under a fresh import folder; Binance is the test simulator, the warehouse its own."""
    import MySQLdb

    from tests import talend_legacy as talend

    close_ms = int(talend.EXPORTED.timestamp() * 1000) - 60_000
    tickers = [talend.ticker("BTCUSDT", close_ms), talend.ticker("ETHUSDT", close_ms)]
    server = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
    talend.create_database(server, "projet_crypto", tickers)
    talend.write_files(tmp_path / "import", tickers)
    warehouse = {
        "conn_type": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "login": "root",
        "schema": "binance_dw_readme",
    }
    env = {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW_CONN_BINANCE_DEFAULT": connection_uri(sim_url),
        "AIRFLOW_CONN_BINANCE_WAREHOUSE": json.dumps(warehouse),
        "BINANCE_ETL_IMPORT_ROOT": str(tmp_path / "import"),
    }
    try:
        done = fresh_shell(command, 900, **env)
    finally:
        server.cursor().execute("DROP DATABASE IF EXISTS projet_crypto")
        server.cursor().execute("DROP DATABASE IF EXISTS binance_dw_readme")
        server.close()
    assert re.search(r"binance_import manual\S*: SUCCESS", done.stdout), done.stdout[-3000:] + done.stderr[-3000:]
    assert " -> fact_kline: read=" in done.stdout
    return done


def check_rebuild(command: str) -> subprocess.CompletedProcess:
    """The summaries' rebuild against a warehouse whose candles lost their summaries: every series rebuilt, exact."""
    import MySQLdb

    from binance_airflow.warehouse.schema import create_warehouse
    from tests.dag_runs import assert_summaries_exact

    database = "binance_dw_readme"
    server = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
    cur = server.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {database}")
    create_warehouse(database)
    cur.execute(f"USE {database}")
    cur.execute("SET FOREIGN_KEY_CHECKS = 0")
    for symbol in ("BTCUSDT", "ETHUSDT"):
        cur.execute(
            "INSERT INTO fact_kline (symbol, `interval`, open_time, open_time_ms, date_key, `open`, high, low, "
            "`close`, volume, close_time) VALUES (%s, '1d', '2024-01-01', 1704067200000, 2024010100, 1, 2, 0.5, "
            "1.5, 10, '2024-01-01 23:59:59.999')",
            (symbol,),
        )
    server.commit()
    warehouse = {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": database}
    only = command.split()[2:]  # the symbols named, if any
    try:
        done = fresh_shell(command, 300, AIRFLOW_CONN_BINANCE_WAREHOUSE=json.dumps(warehouse))
        cur.execute("SELECT symbol FROM agg_kline_series ORDER BY symbol")
        assert [row[0] for row in cur.fetchall()] == (only or ["BTCUSDT", "ETHUSDT"])
        if not only:
            assert_summaries_exact(server, database)
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS {database}")
        server.close()
    series = len(only) or 2
    assert f"summaries rebuilt: {series} series" in done.stdout + done.stderr, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != TEST_COMMAND])
def test_every_readme_command_runs_as_written_from_a_fresh_shell(
    command: str, tmp_path: Path, request: pytest.FixtureRequest
):
    """Benchmarks run with BINANCE_BENCH_SMOKE=1 (tiny input); the simulator must start and answer."""
    if "scripts/import.sh" in command:
        done = check_import(command, tmp_path, request.getfixturevalue("sim_url"))
    elif "scripts/rebuild_summaries.sh" in command:
        done = check_rebuild(command)
    elif "benchmarks." in command:
        done = fresh_shell(command, 900, BINANCE_BENCH_SMOKE="1")
    elif "include.binance_sim" in command:
        assert first_line_of(command).startswith("binance-sim listening on http://127.0.0.1:")
        return
    elif command == "bash scripts/demo.sh":
        done = fresh_shell(command, 900)
        assert "binance_etl manual" in done.stdout and "fact_kline" in done.stdout, done.stdout[-3000:]
    elif command == "bash scripts/make_env.sh":
        check_make_env(tmp_path)
        return
    elif command == "bash scripts/stream_demo.sh":
        done = fresh_shell(command, 300)
        assert "binance_ws" in done.stdout and "stream service stopped" in done.stdout, done.stdout[-3000:]
    else:
        pytest.fail(f"the README shows a command this test does not know how to check: {command!r}")
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
