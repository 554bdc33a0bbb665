"""Shared fixtures: a private AIRFLOW_HOME, the Binance simulator as a real HTTP server, the connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import MySQLdb
import pytest

from harness.simulator import simulator

ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE_DB = "binance_dw_test"
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["BINANCE_ETL_STAGING_ROOT"] = tempfile.mkdtemp(prefix="binance-staging-")
os.environ["AIRFLOW_CONN_BINANCE_WAREHOUSE"] = json.dumps(
    {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "password": "", "schema": WAREHOUSE_DB}
)
SIM_SYMBOLS = "BTCUSDT@2019-06-03,ETHUSDT,BNBUSDT@2024-03-01,LTCUSDT@2024-01-01:2024-06-15,SOLUSDT@2024-02-28"
SIM_START = "2024-01-01"
# Exchange outages as Binance's own BTCUSDT history has them (no candle at any interval, in REST and archives).
SIM_OUTAGES = (
    "BTCUSDT@2020-02-19T11:35/2020-02-19T17:30,BTCUSDT@2020-06-28T02:00/2020-06-28T05:00,"
    "BTCUSDT@2021-04-25T05:00/2021-04-25T08:00,BTCUSDT@2023-03-24T12:40/2023-03-24T14:00"
)
API_KEY = "test-key-7f3a9c"
API_SECRET = "test-secret-Zq81xK2mWvB0dLr5"
# A second Binance account on the same simulator (another company's, say): its own key pair and balances.
ACCOUNT_B = ("test-key-b-41c2d", "test-secret-b-Hk3pQ9vX7mL2", "BTC=0.5,BNB=3,USDT=250.5")


def sim_market() -> Any:
    """An in-process twin of the test simulator's market: what the server holds, for expected values."""
    from include.binance_sim.__main__ import parse_outages, parse_symbols
    from include.binance_sim.market import Market

    return Market(parse_symbols(SIM_SYMBOLS, SIM_START), outages=parse_outages(SIM_OUTAGES))


class Sim:
    """Handle on a running simulator: its URL and its ``/_sim/`` control surface."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def fault(self, kind: str, **spec: Any) -> None:
        self._call("POST", "/_sim/faults", {"kind": kind, **spec})

    def configure(self, **config: Any) -> None:
        self._call("POST", "/_sim/config", config)

    def requests(self, path: str) -> int:
        return self._call("GET", "/_sim/stats")["requests"].get(path, 0)

    def signatures(self) -> list[str]:
        """Every request signature the server has received since the last reset."""
        return self._call("GET", "/_sim/stats")["signatures"]

    def reset(self) -> None:
        self._call("DELETE", "/_sim/faults")
        self._call("DELETE", "/_sim/stats")
        self.configure(latency_ms=0, clock_skew_ms=0, stated_weight_limit=None, extra_listed=[])


@pytest.fixture(scope="session")
def sim_urls() -> Iterator[tuple[str, str]]:
    """The test simulator: SIM_SYMBOLS with SIM_OUTAGES, the test key pair."""
    with simulator(
        "--symbols",
        SIM_SYMBOLS,
        "--start",
        SIM_START,
        "--outages",
        SIM_OUTAGES,
        "--api-key",
        API_KEY,
        "--api-secret",
        API_SECRET,
        "--account",
        ":".join(ACCOUNT_B),
    ) as urls:
        yield urls


@pytest.fixture(scope="session")
def sim_url(sim_urls: tuple[str, str]) -> str:
    return sim_urls[0]


@pytest.fixture(scope="session")
def sim_stream_url(sim_urls: tuple[str, str]) -> str:
    return sim_urls[1]


@pytest.fixture
def sim(sim_url: str) -> Iterator[Sim]:
    handle = Sim(sim_url)
    handle.reset()
    yield handle
    handle.reset()


def connection_uri(
    base_url: str,
    with_key: bool = True,
    archives: bool = False,
    key: tuple[str, str] = (API_KEY, API_SECRET),
    conn_type: str = "binance",
    **extra: Any,
) -> str:
    """``binance_default`` as JSON; ``archives`` serves kline archive files from the simulator too (``extra``:
    more connection extras, e.g. ``stream_url``; ``key``: the account's API key pair; ``conn_type``: ``binance``
    or the generic ``http`` it replaces)."""
    conn: dict[str, Any] = {"conn_type": conn_type, "host": base_url, "extra": extra}
    if with_key:
        conn |= {"login": key[0], "password": key[1]}
    if archives:
        extra["archive_url"] = base_url
    return json.dumps(conn)


@pytest.fixture
def binance_conn(monkeypatch: pytest.MonkeyPatch, sim: Sim) -> Sim:
    """``binance_default`` points at the simulator, with the test API key pair."""
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url))
    return sim


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A fresh SQLite metadata DB in the test AIRFLOW_HOME."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, env=os.environ.copy(), cwd=ROOT)


@pytest.fixture
def warehouse() -> MySQLdb.Connection:
    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB}")
    yield conn
    conn.close()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """A local HTTP receiver behind the ``binance_notify`` connection; yields the JSON bodies posted to it."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}/hooks/etl"
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_NOTIFY", json.dumps({"conn_type": "http", "host": host}))
    yield received
    server.shutdown()
