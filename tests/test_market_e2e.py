"""The whole market in one run: a symbol pattern resolved at run time, mapped over a bounded number of batches
even beyond Airflow's max_map_length (1024) - a simulator listing 1,500 USDT symbols."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import MySQLdb
import pytest

from harness.simulator import simulator
from tests.conftest import WAREHOUSE_DB, connection_uri
from tests.dag_runs import DAY, query, summary, whole_run

pytestmark = pytest.mark.dag
USDT = [f"S{i:04d}USDT" for i in range(1500)]
OTHERS = ["ETHBTC", "OLDUSDT@2024-01-01:2024-06-01"]  # another quote asset; a delisted USDT symbol (BREAK)


@pytest.fixture(scope="module")
def market_url() -> Iterator[str]:
    with simulator("--symbols", ",".join(USDT + OTHERS), "--start", "2024-01-01") as (rest, _):
        yield rest


def test_a_pattern_run_loads_every_trading_usdt_symbol_in_bounded_batches(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, market_url: str
):
    from include import settings

    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(market_url, with_key=False))
    monkeypatch.setattr(settings, "KLINE_BATCHES", 16)  # the default is 64; fewer task instances run faster here
    run = whole_run(DAY, DAY + timedelta(days=1), ["*USDT"], interval="1d")
    assert run.state == "success"
    with urllib.request.urlopen(f"{market_url}/_sim/stats", timeout=10) as response:
        requests = json.loads(response.read())["requests"]
    assert requests["/api/v3/exchangeInfo"] == 1  # plan's read serves extract_exchange_info too (weight 20 once)
    loaded = query(warehouse, f"SELECT symbol, COUNT(*) FROM {WAREHOUSE_DB}.fact_kline GROUP BY symbol ORDER BY 1")
    assert loaded == [(symbol, 1) for symbol in USDT]  # not ETHBTC, not the delisted OLDUSDT

    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        mapped = session.query(TaskInstance.task_id, TaskInstance.rendered_map_index).filter(
            TaskInstance.run_id == run.run_id, TaskInstance.map_index >= 0
        )
        labels: dict[str, list[str]] = {}
        for task, label in mapped:
            labels.setdefault(task, []).append(label)
    steps = {"klines.extract_klines", "klines.transform_klines", "klines.load_klines"}
    assert set(labels) == steps and all(len(labels[step]) == 16 for step in steps)
    assert "S0000USDT … S0093USDT (94)" in labels["klines.load_klines"]  # 1,500 = 12 batches of 94 and 4 of 93


def klines_requests(market_url: str) -> int:
    with urllib.request.urlopen(f"{market_url}/_sim/stats", timeout=10) as response:
        return json.loads(response.read())["requests"].get("/api/v3/klines", 0)


def test_a_past_window_selects_the_pairs_delisted_since_and_a_window_after_its_delisting_skips_it(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, market_url: str, webhook: list
):
    """Survivorship: OLDUSDT traded until 2024-06-01 and is BREAK now. A pattern over May 2024 selects it (the run
    summary says it no longer trades); over July 2024 it is asked for one candle, has none, and is skipped."""
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(market_url, with_key=False))
    may, july = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
    for day in (may, july):
        before = klines_requests(market_url)
        assert whole_run(day, day + timedelta(days=2), ["OLD*", "S0000USDT"], interval="1d").state == "success"
        asked = klines_requests(market_url) - before
        loaded = query(
            warehouse,
            f"SELECT symbol, COUNT(*) FROM {WAREHOUSE_DB}.fact_kline WHERE open_time >= '{day:%Y-%m-%d}' "
            f"AND open_time < '{day + timedelta(days=2):%Y-%m-%d}' GROUP BY symbol ORDER BY 1",
        )
        if day == may:
            assert loaded == [("OLDUSDT", 2), ("S0000USDT", 2)]
            assert summary(webhook)["not_trading"] == ["OLDUSDT"]
            assert asked == 1 + 2 * 2  # the probe; each symbol's page and its reconciliation's
        else:
            assert loaded == [("S0000USDT", 2)]
            assert summary(webhook[-1:])["not_trading"] == []
            assert asked == 1 + 2  # the probe finds none: OLDUSDT is never extracted nor reconciled
