"""The real-time path end to end: the stream service (its own process) against the simulator's WebSocket kline
streams and the real MariaDB, through every stream fault: the warehouse always ends with exactly the server's
closed candles, none open, none twice."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import MySQLdb
import pytest

from harness.simulator import stream_service
from tests.conftest import API_SECRET, WAREHOUSE_DB, Sim, connection_uri, sim_market
from tests.dag_runs import assert_summaries_exact, query

pytestmark = pytest.mark.dag
SYMBOLS = ["BTCUSDT", "ETHUSDT"]


class StreamProcess:
    """``python -m binance_airflow.stream`` with the test connections; ``stop()`` returns its output."""

    def __init__(self, sim: Sim, stream_url: str, intervals: tuple[str, ...] = ("1s",), **tunables: str):
        env = {
            **os.environ,
            "AIRFLOW_CONN_BINANCE_DEFAULT": connection_uri(sim.base_url, stream_url=stream_url),
            "AIRFLOW_VAR_BINANCE_STREAM": json.dumps({"symbols": SYMBOLS, "intervals": list(intervals)}),
            "BINANCE_STREAM_LOOKBACK": "20",
            "BINANCE_STREAM_SILENCE": "3",
            "BINANCE_STREAM_GRACE_MS": "1500",
            "BINANCE_STREAM_HEAL_EVERY": "30",
            **tunables,
        }
        self.started = time.time()
        self.process = stream_service(env)

    def stop(self) -> str:
        self.settled_ms = int(time.time() * 1000) - 2000  # candles closed a second before the stop are committed
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, output[-3000:]
        return output


@pytest.fixture
def stream(sim: Sim, sim_stream_url: str, warehouse: MySQLdb.Connection) -> Iterator[Any]:
    """Start stream services; each is stopped at the end if the test has not."""
    started: list[StreamProcess] = []

    def start(intervals: tuple[str, ...] = ("1s",), **tunables: str) -> StreamProcess:
        started.append(StreamProcess(sim, sim_stream_url, intervals, **tunables))
        return started[-1]

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def stored(conn: MySQLdb.Connection, symbol: str, interval: str = "1s", source: str | None = None) -> list[tuple]:
    where = f" AND source = '{source}'" if source else ""
    return query(
        conn,
        f"SELECT open_time_ms, `open`, high, low, `close`, volume, close_time FROM {WAREHOUSE_DB}."
        f"fact_kline WHERE symbol = '{symbol}' AND `interval` = '{interval}'{where} ORDER BY open_time",
    )


def count(conn: MySQLdb.Connection, where: str) -> int:
    """Rows of fact_kline matching ``where`` (0 before the service has created the schema)."""
    try:
        return query(conn, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline WHERE {where}")[0][0]
    except MySQLdb.ProgrammingError:
        return 0


def streamed(conn: MySQLdb.Connection) -> int:
    return count(conn, "source = 'binance_ws'")


def assert_exactly_the_server_candles(conn: MySQLdb.Connection, until_ms: int, interval: str = "1s") -> int:
    """From each symbol's first stored candle up to ``until_ms``: every candle the server has, exactly, once."""
    total = 0
    for symbol in SYMBOLS:
        rows = [row for row in stored(conn, symbol, interval) if row[0] < until_ms]
        table = sim_market().klines(symbol, interval, rows[0][0], until_ms - 1, 10**7)
        want = [
            (int(o), *(Decimal(int(table[f][i])) / 10**8 for f in ("open", "high", "low", "close", "volume")))
            for i, o in enumerate(table["open_time"])
        ]
        missing = sorted({w[0] for w in want} - {r[0] for r in rows})
        assert [row[:6] for row in rows] == want, f"{symbol}: {len(rows)} stored, {len(want)} served, missing {missing}"
        total += len(rows)
    assert_summaries_exact(conn)  # the stream's writes and heals kept them in their transactions
    return total


def stopped_summary(output: str) -> dict[str, int]:
    """The counts of the service's last log line (``stream service stopped: …``)."""
    line = [line for line in output.splitlines() if "stream service stopped" in line][-1]
    pattern = r"(\d+) (candles written|connects|malformed frames|heals|outages)"
    numbers = {name: int(value) for value, name in re.findall(pattern, line)}
    numbers["healed"] = int(re.search(r"healed (\d+) candles over REST", line).group(1))
    return numbers


def test_closed_candles_land_within_the_second_and_open_ones_never(
    stream: Any, warehouse: MySQLdb.Connection, sim: Sim
):
    service = stream()
    wait_for(lambda: streamed(warehouse) >= 10)
    newest = query(warehouse, f"SELECT MAX(close_time) FROM {WAREHOUSE_DB}.fact_kline")[0][0]
    assert newest < datetime.now(UTC).replace(tzinfo=None)  # every stored candle had closed
    time.sleep(3)
    output = service.stop()
    assert assert_exactly_the_server_candles(warehouse, service.settled_ms) > 40  # healed over REST, then streamed
    sources = dict(query(warehouse, f"SELECT source, COUNT(*) FROM {WAREHOUSE_DB}.fact_kline GROUP BY source"))
    assert sources["binance_ws"] >= 10 and sources["binance_api"] >= 30
    latency = re.search(r"close→commit p50 (\d+) ms p99 (\d+) ms", output)
    assert latency and int(latency.group(2)) < 1000, output[-2000:]  # within a second, on loopback
    assert sim.requests("/api/v3/klines") < 20  # the streams carry the candles, REST only heals


# the fault, and how long it takes to pass: its detection (3 s of silence for the stall), the reconnect and the
# heal after it; frames that are wrong on a live connection pass at once
STREAM_FAULTS = {
    "connection dropped": ("ws_drop", {}, 9),
    "silent stall": ("ws_stall", {"seconds": 5}, 9),
    "duplicated frames": ("ws_duplicate", {"times": 3}, 4),
    "out-of-order frames": ("ws_reorder", {"times": 3}, 4),
    "serverShutdown": ("ws_shutdown", {}, 9),
    "malformed frames": ("ws_malformed", {"times": 2}, 4),
}


@pytest.mark.parametrize(("kind", "spec", "passes_in"), STREAM_FAULTS.values(), ids=STREAM_FAULTS.keys())
def test_every_stream_fault_ends_with_exactly_the_server_candles(
    stream: Any, warehouse: MySQLdb.Connection, sim: Sim, kind: str, spec: dict, passes_in: int
):
    service = stream()
    wait_for(lambda: streamed(warehouse) >= 4)
    sim.fault(kind, path="/stream", **spec)
    time.sleep(passes_in)
    output = service.stop()
    assert assert_exactly_the_server_candles(warehouse, service.settled_ms) > 20
    summary = stopped_summary(output)
    if kind in ("ws_drop", "ws_stall", "ws_shutdown"):
        assert summary["connects"] >= 2, output[-2000:]
    if kind == "ws_malformed":
        assert summary["malformed frames"] == 2, output[-2000:]


def test_connections_roll_over_before_their_age_limit_without_a_hole(
    stream: Any, warehouse: MySQLdb.Connection, sim: Sim
):
    """Binance closes a connection after 24 hours (compressed here: the client renews at 2 s, the server cuts at
    5 s). Renewals overlap, so nothing needs healing after them."""
    sim.configure(ws_max_connection_s=5)
    service = stream(BINANCE_STREAM_MAX_CONNECTION_AGE="2")
    wait_for(lambda: streamed(warehouse) >= 4)
    time.sleep(10)
    output = service.stop()
    summary = stopped_summary(output)
    assert summary["connects"] >= 5, output[-2000:]
    assert assert_exactly_the_server_candles(warehouse, service.settled_ms) > 30
    heals = [line for line in output.splitlines() if "loaded over REST" in line]
    assert len(heals) <= 2, heals  # at start only (the lookback, and what closed while the first one connected)


def test_a_restart_after_a_long_outage_heals_the_whole_range(stream: Any, warehouse: MySQLdb.Connection):
    first = stream()
    wait_for(lambda: streamed(warehouse) >= 3)
    first.stop()
    time.sleep(15)  # the service is down: the streams' candles of these seconds are lost
    second = stream()
    wait_for(lambda: streamed(warehouse) >= 10)
    output = second.stop()
    assert stopped_summary(output)["healed"] >= 15, output[-3000:]  # the outage, fetched over REST
    assert assert_exactly_the_server_candles(warehouse, second.settled_ms) > 40


def test_stream_and_batch_paths_write_identical_rows(
    stream: Any, warehouse: MySQLdb.Connection, sim: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The same candles through the stream and through the batch DAG's steps: the same row, but for source."""
    from binance_airflow.binance.hook import BinanceHook
    from binance_airflow.etl import steps
    from binance_airflow.warehouse.schema import create_warehouse
    from binance_airflow.warehouse.tables import TABLES
    from include.run_window import resolve

    service = stream()
    wait_for(lambda: streamed(warehouse) >= 8)
    service.stop()
    columns = (
        "symbol, `interval`, open_time, open_time_ms, date_key, `open`, high, low, `close`, volume, close_time, "
        "quote_volume, trades, taker_buy_base_volume, taker_buy_quote_volume"
    )
    ws = query(
        warehouse,
        f"SELECT {columns} FROM {WAREHOUSE_DB}.fact_kline WHERE source = 'binance_ws' ORDER BY symbol, open_time",
    )
    first, last = min(r[3] for r in ws), max(r[3] for r in ws)
    batch_db = WAREHOUSE_DB + "_batch"
    query(warehouse, f"DROP DATABASE IF EXISTS {batch_db}")
    monkeypatch.setenv("BINANCE_ETL_WAREHOUSE_DB", batch_db)
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url))
    try:
        create_warehouse()
        start, end = (datetime.fromtimestamp(ms / 1000, UTC).isoformat() for ms in (first, last + 1000))
        window = resolve({"symbols": SYMBOLS, "interval": "1s", "start": start, "end": end}, None, None, None)
        hook = BinanceHook()
        steps.extract_exchange_info(window, tmp_path, hook)
        steps.load_table("dim_symbol", steps.stage_table(TABLES["dim_symbol"], window, tmp_path), "batch")
        steps.load_table("dim_date", steps.stage_table(TABLES["dim_date"], window, tmp_path), "batch")
        extracted = steps.extract_klines(window, SYMBOLS, tmp_path, hook)
        staged = steps.transform_klines(window, tmp_path, extracted, int(time.time() * 1000))
        steps.load_klines(staged, "batch")
        batch = query(warehouse, f"SELECT {columns} FROM {batch_db}.fact_kline ORDER BY symbol, open_time")
    finally:
        query(warehouse, f"DROP DATABASE IF EXISTS {batch_db}")
    assert ws == [row for row in batch if (row[0], row[3]) in {(r[0], r[3]) for r in ws}] and len(ws) >= 8


def test_the_api_secret_never_reaches_the_service_log(stream: Any, warehouse: MySQLdb.Connection):
    service = stream()
    wait_for(lambda: streamed(warehouse) >= 3)
    assert API_SECRET not in service.stop()


def test_the_freshness_dag_passes_on_fresh_streams_and_names_a_stale_one(
    stream: Any,
    warehouse: MySQLdb.Connection,
    webhook: list[dict],
    monkeypatch: pytest.MonkeyPatch,
    airflow_db: None,
):
    """1m streams, fresh from the start (the service heals the last minutes over REST before streaming)."""
    from tests.dag_runs import failures, load_dag

    service = stream(intervals=("1m",), BINANCE_STREAM_LOOKBACK="180")
    wait_for(lambda: count(warehouse, "`interval` = '1m'") >= 4)
    monkeypatch.setenv("AIRFLOW_VAR_BINANCE_STREAM", json.dumps({"symbols": SYMBOLS, "intervals": ["1m"]}))
    try:
        assert load_dag("binance_stream_freshness").test().state == "success"
        stale = {"symbols": [*SYMBOLS, "LTCUSDT"], "intervals": ["1m"]}  # LTCUSDT is not streamed (delisted)
        monkeypatch.setenv("AIRFLOW_VAR_BINANCE_STREAM", json.dumps(stale))
        assert load_dag("binance_stream_freshness").test().state == "failed"
    finally:
        service.stop()
    error = failures(webhook)["check_stream_freshness"]
    assert "LTCUSDT_1m_fresh" in error and "BTCUSDT_1m_fresh" not in error.split("have failed")[-1]
