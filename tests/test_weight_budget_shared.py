"""One weight budget per IP across processes: Redis holds the minute's count (BINANCE_ETL_WEIGHT_REDIS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import redis

from binance_airflow.binance.weight_budget import KEY_PREFIX, RedisCounter, WeightBudget
from harness.simulator import simulator
from tests.conftest import ROOT

REDIS = "redis://127.0.0.1:6379/15"
LIMIT = 60  # weight per minute on the simulator: 54 (90 %) is the budget's ceiling
# A process calling Binance from 8 threads at once (each ping weighs 1) until killed.
CALLER = """
import threading
from binance_airflow.binance.hook import BinanceHook
hook = BinanceHook(weight_limit=LIMIT)
def calls():
    while True:
        hook.ping()
threads = [threading.Thread(target=calls, daemon=True) for _ in range(8)]
for thread in threads:
    thread.start()
threads[0].join()
""".replace("LIMIT", str(LIMIT))


@pytest.fixture
def limited_sim() -> Iterator[str]:
    """A simulator allowing only LIMIT weight per minute, answering after 100 ms (many requests in flight)."""
    with simulator("--symbols", "BTCUSDT", "--weight-limit", str(LIMIT), "--latency-ms", "100") as (rest, _):
        yield rest


def within_one_minute(seconds: float) -> None:
    """Wait for the next calendar minute unless ``seconds`` still fit in this one."""
    if time.time() % 60 > 60 - seconds:
        time.sleep(60 - time.time() % 60 + 0.2)


def requests_answered(base: str) -> dict[str, int]:
    with urllib.request.urlopen(base + "/_sim/stats", timeout=10) as response:
        return json.loads(response.read())["requests"]


def run_callers(base: str, processes: int, seconds: float, **env: str) -> dict[str, int]:
    """``processes`` callers for ``seconds`` (kept inside one calendar minute); what the server answered."""
    within_one_minute(seconds + 3)
    conn = json.dumps({"conn_type": "http", "host": base})
    full_env = {**os.environ, "AIRFLOW_CONN_BINANCE_DEFAULT": conn, **env}
    children = [
        subprocess.Popen([sys.executable, "-c", CALLER], cwd=ROOT, env=full_env, stderr=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    time.sleep(seconds)
    for child in children:
        child.kill()
        child.wait()
    return requests_answered(base)


def test_processes_sharing_redis_stay_under_the_limit_together(limited_sim: str):
    answered = run_callers(limited_sim, 3, 8, BINANCE_ETL_WEIGHT_REDIS=REDIS)  # keys are per host: this one's port
    assert answered.get("HTTP 429", 0) == 0 and answered.get("HTTP 418", 0) == 0, answered
    assert 50 <= answered.get("/api/v3/ping", 0) <= 54, answered  # the ceiling, used and not passed


def test_processes_counting_alone_overrun_the_limit(limited_sim: str):
    """The same callers without Redis: each process believes it owns the limit (why the shared budget exists)."""
    answered = run_callers(limited_sim, 3, 8, BINANCE_ETL_WEIGHT_REDIS="")
    assert answered.get("HTTP 429", 0) > 0, answered


def test_an_unreachable_redis_falls_back_to_counting_locally(caplog: pytest.LogCaptureFixture):
    counter = RedisCounter("redis://:hunter2@127.0.0.1:1/0", lambda: "api.example")  # nothing listens on port 1
    budget = WeightBudget(limit=10, counter=counter, sleep=lambda s: None)
    budget.reserve(4)
    budget.reserve(4)
    assert budget.used == 8
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "hunter2" not in warnings[0], warnings


def test_the_server_count_raises_the_shared_count_for_every_process():
    host = f"test-{uuid.uuid4().hex}"
    first, second = (WeightBudget(limit=100, counter=RedisCounter(REDIS, lambda: host)) for _ in range(2))
    within_one_minute(5)
    first.reserve(5)
    second.observe({"X-MBX-USED-WEIGHT-1M": "40"})
    first.observe({"X-MBX-USED-WEIGHT-1M": "7"})  # lower than what is known: ignored
    assert first.used == second.used == 40
    minute_key = f"{KEY_PREFIX}:{host}:{int(time.time() // 60)}"
    assert redis.Redis.from_url(REDIS).ttl(minute_key) > 0  # minutes expire on their own
