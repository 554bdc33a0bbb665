"""Archive files and REST give identical klines; a corrupt archive fails loudly; the periods tile a window."""

from __future__ import annotations

import hashlib
import io
import itertools
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from binance_airflow.binance.hook import BinanceHook
from binance_airflow.etl.kline_extract import extract_symbol
from include.intervals import DAY_MS
from include.kline_periods import chunks
from include.transforms.archive import ArchiveIntegrityError, csv_member, csv_rows, verify
from include.transforms.raw_files import read_rows
from tests.conftest import Sim, connection_uri


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def extract(
    tmp_path: Path, name: str, interval: str, start: str, end: str, symbol: str = "BTCUSDT"
) -> tuple[list, list[dict]]:
    files = extract_symbol(BinanceHook(), symbol, interval, ms(start), ms(end), tmp_path / name, workers=3)
    return [row for f in files for row in read_rows(Path(f["path"]))], files


@pytest.mark.parametrize(
    ("interval", "start", "end"),
    [
        ("1h", "2024-01-29T05:00", "2024-04-02T00:00"),  # partial day, daily files, two months, a daily file
        ("1m", "2024-12-31T00:00", "2025-01-02T00:00"),  # the millisecond → microsecond switch
        ("15m", "2025-02-01", "2025-03-01"),  # a microsecond monthly file
    ],
)
def test_archive_and_rest_paths_give_identical_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim: Sim, interval: str, start: str, end: str
):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url))
    via_rest, rest_files = extract(tmp_path, "rest", interval, start, end)
    assert {f["source"] for f in rest_files} == {"rest"}
    kline_requests = sim.requests("/api/v3/klines")

    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, archives=True))
    via_archive, archive_files = extract(tmp_path, "archive", interval, start, end)
    assert "archive" in {f["source"] for f in archive_files}
    assert sim.requests("/api/v3/klines") - kline_requests < kline_requests  # archives replaced REST calls
    assert via_archive == via_rest
    assert "archive_url" not in BinanceHook().session.headers  # a setting, never sent as a header
    assert len(via_rest) == (ms(end) - ms(start)) // {"1h": 3_600_000, "1m": 60_000, "15m": 900_000}[interval]


def test_unpublished_archive_falls_back_to_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim: Sim):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, archives=True))
    rows, files = extract(tmp_path, "x", "1h", "2023-12-01", "2024-01-02", "LTCUSDT")  # listed 2024-01-01
    assert [f["source"] for f in files] == ["rest", "archive"]
    assert len(rows) == 24


def test_a_corrupt_archive_fails_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim: Sim):
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, archives=True))
    sim.fault("corrupt", path="/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02.zip")
    with pytest.raises(ArchiveIntegrityError, match=r"BTCUSDT-1h-2024-02\.zip: SHA-256 [0-9a-f]{64} does not match"):
        extract(tmp_path, "x", "1h", "2024-02-01", "2024-03-01")


def test_an_archive_download_cut_mid_body_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim: Sim):
    """The archive host drops the connection after the headers, twice: the download is retried, not failed."""
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim.base_url, archives=True))
    zip_path = "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02.zip"
    sim.fault("cut", path=zip_path, times=2)
    rows, files = extract(tmp_path, "x", "1h", "2024-02-01", "2024-03-01")
    assert [f["source"] for f in files] == ["archive"]
    assert len(rows) == 29 * 24
    assert sim.requests(zip_path) == 3


def test_archive_reader_tolerates_a_header_and_microseconds():
    csv = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
        "taker_buy_quote_volume,ignore\n"
        "1735689600000000,1.0,2.0,0.5,1.5,10,1735693199999999,15,7,4,6,0\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X-1h-2025-01-01.csv", csv)
    content = buffer.getvalue()
    verify(content, f"{hashlib.sha256(content).hexdigest()}  X-1h-2025-01-01.zip\n", "X-1h-2025-01-01.zip")
    assert csv_rows(csv_member(content, "X-1h-2025-01-01.zip")) == [
        [1735689600000, "1.0", "2.0", "0.5", "1.5", "10", 1735693199999, "15", 7, "4", "6", "0"]
    ]
    with pytest.raises(ArchiveIntegrityError, match="sha256sum line"):
        verify(content, "garbage", "X-1h-2025-01-01.zip")


@pytest.mark.parametrize("interval", ["1m", "1h", "1d", "1w", "1M"])
def test_chunks_tile_the_window_without_gaps_or_overlaps(interval: str):
    start, end = ms("2023-11-17T05:00"), ms("2025-02-03T07:00")
    pieces = chunks(start, end, interval, complete_before_ms=ms("2025-02-02"))
    assert pieces[0].start_ms == start and pieces[-1].end_ms == end
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(pieces))
    assert all(p.archive is None or p.end_ms <= ms("2025-02-02") for p in pieces)
    assert all(p.archive != "daily" or p.end_ms - p.start_ms == DAY_MS for p in pieces)
    assert len({p.label for p in pieces}) == len(pieces)
