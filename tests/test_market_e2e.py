"""The whole market in one run: a symbol pattern resolved at run time, mapped over a bounded number of batches
even beyond Airflow's max_map_length (1024) - a simulator listing 1,500 USDT symbols."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import MySQLdb
import pytest

from harness.simulator import simulator
from tests.conftest import WAREHOUSE_DB, connection_uri
from tests.dag_runs import DAY, query, whole_run

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
