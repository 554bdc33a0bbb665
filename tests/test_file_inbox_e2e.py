"""binance_file_inbox as dag.test() runs: real CSV, JSON and XLSX files, good and malformed, into MariaDB."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import MySQLdb
import pytest
from openpyxl import Workbook

from include import settings
from tests.conftest import WAREHOUSE_DB, Sim
from tests.dag_runs import assert_summaries_exact, asset_events, expected, load_dag, query, run_dag

pytestmark = pytest.mark.dag
DAY = datetime(2024, 3, 1, tzinfo=UTC)
HEADER = [
    "symbol",
    "interval",
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
]


def candles(symbol: str, first_hour: int, hours: int) -> list[list]:
    start = DAY + timedelta(hours=first_hour)
    return [[symbol, "1h", *k[:11]] for k in expected(symbol, "1h", start, start + timedelta(hours=hours))]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def write_csv(path: Path, rows: list[list]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "INBOX_ROOT", tmp_path / "inbox")
    settings.INBOX_ROOT.mkdir()
    return settings.INBOX_ROOT


def run_inbox() -> Any:
    return load_dag("binance_file_inbox").test()


def test_good_files_load_whole_and_bad_files_are_rejected_whole_with_a_reason(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim, inbox: Path
):
    assert run_dag(DAY + timedelta(days=1), DAY + timedelta(days=1, hours=2), ["BTCUSDT"]) == "success"  # dims

    write_csv(inbox / "klines_a.csv", candles("BTCUSDT", 0, 6))
    json_rows = [
        dict(zip(HEADER, [*row[:2], iso(row[2]), *row[3:8], iso(row[8]), *row[9:]], strict=True))
        for row in candles("BTCUSDT", 6, 6)
    ]
    (inbox / "klines_b.json").write_text(json.dumps({"rows": json_rows}))
    xlsx_rows = [
        [*row[:2], datetime.fromtimestamp(row[2] / 1000, UTC).replace(tzinfo=None), *row[3:8]]
        for row in candles("BTCUSDT", 12, 6)
    ]
    write_xlsx(inbox / "klines_c.xlsx", HEADER[:8], xlsx_rows)
    snapshot = "2024-03-02T00:00:00"
    write_xlsx(
        inbox / "balances.xlsx",
        ["asset", "free", "locked", "snapshot_time"],
        [["BTC", "1.5", "0.25", snapshot], ["USDT", "1000", "0", snapshot]],
    )

    broken = candles("BTCUSDT", 18, 6)
    broken[3][4] = "0.00000001"  # one high below its low: the whole file is refused
    write_csv(inbox / "bad_high.csv", broken)
    (inbox / "bad_truncated.json").write_text(json.dumps({"rows": json_rows})[:-40])
    write_xlsx(inbox / "bad_columns.xlsx", HEADER[:6], [row[:6] for row in candles("BTCUSDT", 18, 6)])
    write_csv(inbox / "bad_symbol.csv", candles("ETHUSDT", 0, 3))
    over_precise = candles("BTCUSDT", 18, 6)
    over_precise[2][7] = over_precise[2][7] + "1"  # a ninth decimal place: DECIMAL(36,8) would round it
    write_csv(inbox / "bad_precision.csv", over_precise)

    run = run_inbox()
    assert run.state == "success"
    assert asset_events(run.run_id) == ["binance_warehouse.fact_balance", "binance_warehouse.fact_kline"]

    got = query(
        warehouse,
        f"SELECT open_time_ms, `open`, high, low, `close`, volume FROM {WAREHOUSE_DB}.fact_kline "
        "WHERE open_time < '2024-03-02' ORDER BY open_time",
    )
    want = [(k[0], *(Decimal(v) for v in k[1:6])) for k in expected("BTCUSDT", "1h", DAY, DAY + timedelta(hours=18))]
    assert got == want  # the three good files, exactly; nothing of the refused 18:00-24:00 file
    sources = query(
        warehouse,
        f"SELECT source, COUNT(*) FROM {WAREHOUSE_DB}.fact_kline "
        f"WHERE open_time < '2024-03-02' GROUP BY source ORDER BY source",
    )
    assert sources == [("file:klines_a.csv", 6), ("file:klines_b.json", 6), ("file:klines_c.xlsx", 6)]
    assert_summaries_exact(warehouse)  # the inbox's loads kept them too
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline WHERE source = 'binance_api'")[0][0] == 2
    xlsx_nulls = query(
        warehouse,
        f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline WHERE source = "
        "'file:klines_c.xlsx' AND quote_volume IS NULL AND trades IS NULL",
    )
    assert xlsx_nulls == [(6,)]  # OHLCV-only file: the missing fields stay NULL, nothing invented
    balances = query(warehouse, f"SELECT asset, free, locked, source FROM {WAREHOUSE_DB}.fact_balance ORDER BY 1")
    assert balances == [
        ("BTC", Decimal("1.5"), Decimal("0.25"), "file:balances.xlsx"),
        ("USDT", Decimal(1000), Decimal(0), "file:balances.xlsx"),
    ]

    assert [p.name for p in inbox.iterdir() if p.is_file()] == []
    processed = sorted(p.name.split("-", 1)[1] for p in (inbox / "processed").iterdir())
    assert processed == ["balances.xlsx", "klines_a.csv", "klines_b.json", "klines_c.xlsx"]
    reasons = {
        p.name.split("-", 1)[1].removesuffix(".reason.txt"): p.read_text()
        for p in (inbox / "rejected").glob("*.reason.txt")
    }
    assert sorted(reasons) == [
        "bad_columns.xlsx",
        "bad_high.csv",
        "bad_precision.csv",
        "bad_symbol.csv",
        "bad_truncated.json",
    ]
    # a reason names the row and the problem, never the file's content (issue: a secret in a header was echoed)
    assert "row 5: high is below open/close/low" in reasons["bad_high.csv"]
    assert "0.00000001" not in reasons["bad_high.csv"]
    assert "cannot be read as JSON" in reasons["bad_truncated.json"]
    assert "missing close, volume" in reasons["bad_columns.xlsx"]
    assert "symbols not in dim_symbol: ETHUSDT" in reasons["bad_symbol.csv"]
    assert "volume has more than 8 decimal places" in reasons["bad_precision.csv"]
    assert over_precise[2][7] not in reasons["bad_precision.csv"]
    assert len(list((inbox / "rejected").iterdir())) == 10  # each file beside its reason

    write_csv(inbox / "klines_a.csv", candles("BTCUSDT", 0, 6))  # the same file sent again: loaded, changes nothing
    write_csv(inbox / "bad_again.csv", broken)
    run = run_inbox()
    assert run.state == "success"
    assert asset_events(run.run_id) == []  # no Asset for a file rejected, nor for one that changed nothing
    assert run_inbox().state == "success"  # an empty inbox is a quiet run


SECRET = "s3cr3t-value-123"


def test_links_and_poison_files_never_stay_nor_echo_their_content(
    airflow_db: None,
    warehouse: MySQLdb.Connection,
    binance_conn: Sim,
    inbox: Path,
    tmp_path: Path,
    webhook: list[dict],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
):
    """A link was followed and its secret echoed; a 250-character name and a JSON of 100,000 ``[`` failed the task
    every 15 minutes and stayed; no file had a size limit."""
    outside = tmp_path / "elsewhere.txt"
    outside.write_text(f"API_SECRET={SECRET},foo\n1,2\n")
    (inbox / "look.csv").symlink_to(outside)
    (inbox / "secret_header.csv").write_text(f"API_SECRET={SECRET},foo\n1,2\n")
    long_name = "k" * 246 + ".csv"
    (inbox / long_name).write_text("symbol,interval\nBTCUSDT,1h\n")
    (inbox / "deep.json").write_text("[" * 100_000)
    monkeypatch.setattr(settings, "MAX_INBOX_FILE_BYTES", 150_000)
    (inbox / "huge.csv").write_text("x" * 200_000)

    run = run_inbox()
    assert run.state == "success"
    assert sorted(p.name for p in inbox.iterdir() if p.name not in ("rejected", "processed")) == ["look.csv"]
    assert (inbox / "look.csv").is_symlink() and outside.read_text().startswith("API_SECRET")  # left alone
    rejected = sorted((inbox / "rejected").iterdir())
    assert len(rejected) == 8  # four files, each beside its reason
    assert all(len(p.name.encode()) <= 255 for p in rejected)
    reasons = {p.read_text().split(": ", 1)[0]: p.read_text() for p in rejected if p.name.endswith(".reason.txt")}
    assert set(reasons) == {"secret_header.csv", long_name, "deep.json", "huge.csv"}
    assert "its 2 columns are neither klines" in reasons["secret_header.csv"]
    assert "nested too deeply" in reasons["deep.json"]
    assert "past the 150000 an inbox file may have" in reasons["huge.csv"]
    assert "missing open_time, open, high" in reasons[long_name]
    output = capfd.readouterr()
    seen = json.dumps(webhook) + output.out + output.err + "".join(reasons.values())
    assert SECRET not in seen and "api_secret" not in seen.lower()
    assert webhook[-1]["rejected"].keys() == reasons.keys()
