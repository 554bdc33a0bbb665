"""What comes back from a server is checked like user input: names before they reach SQL or a path."""

from __future__ import annotations

import json
import tracemalloc
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import MySQLdb
import pytest

from binance_airflow.binance.errors import BinanceAnswerRefused
from binance_airflow.binance.hook import BinanceHook
from binance_airflow.binance.weight_budget import WeightBudget
from binance_airflow.etl.run_folder import inside
from binance_airflow.warehouse.checks import kline_scope, snapshot_scope
from include import settings
from include.symbol_selection import expand, not_names
from include.transforms import stream_events
from include.transforms.archive import ArchiveIntegrityError, csv_member
from include.transforms.file_sources import FileRejected, parse
from include.transforms.snapshots import symbol_rows, ticker_rows
from tests.conftest import WAREHOUSE_DB, Sim, connection_uri
from tests.dag_runs import DAY, query, whole_run

SQL_NAME = "X') OR 1=1 OR symbol IN ('USDT"
PWN = f"pwn-{uuid.uuid4().hex}"
PATH_NAME = f"../../../../tmp/{PWN}/pwnUSDT"
HOSTILE = [{"symbol": SQL_NAME, "status": "TRADING"}, {"symbol": PATH_NAME, "status": "TRADING"}]
WINDOW = {"symbols": ["BTCUSDT"], "interval": "1h", "start_ms": 1_714_521_600_000, "end_ms": 1_714_525_200_000}


def test_a_listed_name_that_is_no_symbol_name_is_never_selected():
    listed = [{"symbol": "BTCUSDT", "status": "TRADING"}, *HOSTILE]
    assert expand(["*USDT"], listed) == ["BTCUSDT"]
    assert not_names(listed) == [repr(SQL_NAME)[:40], repr(PATH_NAME)[:40]]


@pytest.mark.parametrize("name", [SQL_NAME, PATH_NAME])
def test_a_gate_scope_validates_symbols_again_where_it_renders_them(name: str):
    assert "symbol IN ('BTCUSDT')" in kline_scope(WINDOW)
    with pytest.raises(ValueError, match="invalid symbol"):
        kline_scope(WINDOW | {"symbols": ["BTCUSDT", name]})
    with pytest.raises(ValueError, match="invalid symbol"):
        snapshot_scope({"snapshot_times": ["2024-05-01 00:00:00.000"]}, WINDOW | {"symbols": [name]})


def test_a_snapshot_time_that_is_no_datetime_is_refused_before_it_reaches_sql():
    with pytest.raises(ValueError, match="is not a UTC datetime"):
        snapshot_scope({"snapshot_times": ["2024-05-01' OR '1'='1"]})


def test_a_ticker_naming_no_symbol_is_refused():
    ticker = {"symbol": SQL_NAME, "closeTime": 0, "openTime": 0, "count": 0, "priceChangePercent": "0"}
    with pytest.raises(ValueError, match="which is not a symbol name"):
        ticker_rows([ticker])


@pytest.mark.parametrize("parts", [("..", "x"), ("klines", PATH_NAME), ("klines", "/etc")])
def test_a_path_built_from_a_name_never_leaves_its_folder(tmp_path: Path, parts: tuple[str, ...]):
    assert inside(tmp_path, "raw", "klines", "BTCUSDT") == tmp_path / "raw" / "klines" / "BTCUSDT"
    with pytest.raises(ValueError, match="it leaves"):
        inside(tmp_path, *parts)


def test_a_request_heavier_than_the_ceiling_is_refused_at_once():
    slept: list[float] = []
    budget = WeightBudget(limit=100, sleep=slept.append)
    with pytest.raises(BinanceAnswerRefused, match="weight 91 exceeds the budget's ceiling of 90 per minute"):
        budget.reserve(91)
    assert slept == [] and budget.used == 0


@pytest.mark.dag
def test_a_pattern_run_against_a_server_listing_sql_and_paths_as_symbols_loads_only_real_symbols(
    airflow_db: None, warehouse: MySQLdb.Connection, monkeypatch: pytest.MonkeyPatch, sim: Sim
):
    """The gate's WHERE clause used to take ``X') OR 1=1 …`` verbatim, and the raw folder ``../../tmp/…``."""
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url))
    sim.configure(extra_listed=[SQL_NAME, PATH_NAME])
    run = whole_run(DAY, DAY + timedelta(hours=2), ["*USDT"])
    assert run.state == "success"
    symbols = [s for (s,) in query(warehouse, f"SELECT DISTINCT symbol FROM {WAREHOUSE_DB}.fact_kline ORDER BY 1")]
    assert symbols == ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"]  # LTCUSDT is delisted (BREAK)
    assert not (Path("/tmp") / PWN).exists()
    assert [p for p in settings.STAGING_ROOT.rglob("*") if "pwn" in p.name] == []


def test_every_task_of_every_dag_has_a_time_limit_suited_to_its_work():
    """No task could run (or wait) forever: none had an execution_timeout."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import ROOT

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    limits = {(dag.dag_id, t.task_id): t.execution_timeout for dag in bag.dags.values() for t in dag.tasks}
    assert [task for task, limit in limits.items() if limit is None] == []
    etl = {task: limit for (dag_id, task), limit in limits.items() if dag_id == "binance_etl"}
    assert etl["plan"] == timedelta(hours=1) and etl["klines.load_klines"] == etl["reconcile_fact_kline"]
    assert etl["klines.extract_klines"] == timedelta(hours=6)


def zip_bomb(path: Path, megabytes: int) -> bytes:
    """A one-member archive whose CSV is ``megabytes`` MiB of zeros (about a thousand times its zip)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("BTCUSDT-1m-2024-01.csv", "w") as f:
        for _ in range(megabytes):
            f.write(bytes(2**20))
    return path.read_bytes()


def test_an_archive_that_expands_past_its_ratio_is_refused_before_it_is_read(tmp_path: Path):
    """A 305,904-byte zip used to expand to 314,572,800 bytes in memory (peak RSS 617 MiB)."""
    content = zip_bomb(tmp_path / "bomb.zip", 300)
    assert len(content) < 400_000
    tracemalloc.start()
    with pytest.raises(ArchiveIntegrityError, match=r"expands \d+ times, past the 100 .*MAX_ARCHIVE_RATIO"):
        csv_member(content, "BTCUSDT-1m-2024-01.zip")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 2**20, peak


def test_an_archive_member_past_the_size_cap_is_refused_and_never_read_past_it(tmp_path: Path):
    content = zip_bomb(tmp_path / "big.zip", 8)
    with pytest.raises(ArchiveIntegrityError, match=r"past the 4194304 bytes .*MAX_ARCHIVE_MB"):
        csv_member(content, "big.zip", max_bytes=4 * 2**20, max_ratio=10_000)


def test_a_rest_body_past_the_cap_is_refused_naming_the_limit(binance_conn: Sim, monkeypatch: pytest.MonkeyPatch):
    hook = BinanceHook()
    assert len(hook.exchange_info()["symbols"]) == 5
    monkeypatch.setattr(settings, "MAX_BODY_BYTES", 1000)
    with pytest.raises(BinanceAnswerRefused, match=r"/api/v3/exchangeInfo .* past the 1000 bytes .*MAX_BODY_MB"):
        hook.exchange_info()


def test_a_stream_frame_or_exchange_info_naming_no_symbol_or_asset_is_refused():
    frame = {
        "e": "kline",
        "k": {
            "t": 0,
            "o": "1",
            "h": "1",
            "l": "1",
            "c": "1",
            "v": "1",
            "T": 59_999,
            "q": "1",
            "n": 1,
            "V": "1",
            "Q": "1",
            "x": True,
            "s": SQL_NAME,
            "i": "1m",
        },
    }
    with pytest.raises(ValueError, match="not a symbol name and interval"):
        stream_events.parse(json.dumps(frame))
    info = {
        "symbols": [{"symbol": "BTCUSDT", "baseAsset": "BTC'; DROP TABLE x", "quoteAsset": "USDT", "status": "TRADING"}]
    }
    with pytest.raises(ValueError, match="BTCUSDT with base, quote or status that are not codes"):
        symbol_rows(info, ["BTCUSDT"])


def test_an_xlsx_that_expands_like_a_zip_bomb_is_rejected_before_it_is_read(tmp_path: Path):
    """An XLSX is itself a zip: bounded like an archive before openpyxl reads it."""
    content = zip_bomb(tmp_path / "bomb.xlsx", 100)
    with pytest.raises(FileRejected, match=r"cannot be read as XLSX: the workbook: its content expands \d+ times"):
        parse("balances.xlsx", content, 0)
