"""fact_kline's summaries (agg_kline_daily, agg_kline_series) against the real MariaDB: equal to the candles after
any sequence of writes through every write path, never seen without their candles, rebuilt for an old warehouse,
and the report's views over them against figures computed here."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import MySQLdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from binance_airflow.warehouse import summaries
from binance_airflow.warehouse.connection import transaction, warehouse_hook
from binance_airflow.warehouse.loads import insert_new, upsert_csv, upsert_rows
from binance_airflow.warehouse.schema import create_warehouse, upgrade_schema
from binance_airflow.warehouse.tables import TABLES
from include.transforms import dim_date, klines
from include.transforms.staging import write_csv
from tests.conftest import WAREHOUSE_DB

START = datetime(2024, 2, 27, tzinfo=UTC)  # the days cross a month end and a leap day
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
START_MS = int(START.timestamp() * 1000)
SYMBOLS = ("AAAUSDT", "BBBUSDT")
HOURS = 24 * 4
KLINE = TABLES["fact_kline"]


@pytest.fixture(scope="module")
def db() -> Iterator[MySQLdb.Connection]:
    """A fresh warehouse with the hours and symbols the candles reference."""
    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", autocommit=True)
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB}")
    create_warehouse()
    conn.select_db(WAREHOUSE_DB)
    hours = dim_date.hours(START_MS - 400 * DAY_MS, START_MS + 10 * DAY_MS)
    symbols = [(s, s[:-4], "USDT", "TRADING") for s in (*SYMBOLS, "CCCUSDT", "DDDUSDT", "EEEUSDT")]
    with transaction(warehouse_hook()) as cur:
        upsert_rows(cur, TABLES["dim_date"], hours)
        upsert_rows(cur, TABLES["dim_symbol"], symbols)
    yield conn
    conn.close()


def rows_of(conn: MySQLdb.Connection, sql: str, params: tuple = ()) -> list[tuple]:
    cur = conn.cursor()
    cur.execute(sql, params)
    return list(cur.fetchall())


def candle(symbol: str, interval_ms: int, open_ms: int, price: int, spread: int, volume: int) -> list:
    """A valid Binance kline array with prices in 1e-8 steps (exact decimals with all 8 places)."""
    o, c = Decimal(price) / 10**8, Decimal(price + spread - 3) / 10**8
    high, low = max(o, c) + Decimal(spread) / 10**8, min(o, c) - Decimal(1) / 10**8
    return [
        open_ms,
        str(o),
        str(high),
        str(low),
        str(c),
        str(Decimal(volume) / 1000),
        open_ms + interval_ms - 1,
        str(Decimal(volume * 7) / 10**8),
        volume % 97,
        "0",
        "0",
        "0",
    ]


def rows_for(arrays: list[list], symbol: str, interval: str = "1h") -> list[tuple]:
    batch = klines.transform_klines(arrays, symbol, interval, 10**15)
    assert not batch.rejects
    return batch.rows


def daily_model(candles: dict[tuple[str, int], list]) -> dict[tuple[str, date], tuple]:
    """(symbol, day) → the v_daily_ohlcv row computed here from the candles held."""
    days: dict[tuple[str, date], list[list]] = defaultdict(list)
    for (symbol, open_ms), array in sorted(candles.items()):
        days[(symbol, datetime.fromtimestamp(open_ms / 1000, UTC).date())].append(array)
    return {
        key: (
            Decimal(arrays[0][1]),
            max(Decimal(a[2]) for a in arrays),
            min(Decimal(a[3]) for a in arrays),
            Decimal(arrays[-1][4]),
            sum(Decimal(a[5]) for a in arrays),
            sum(Decimal(a[7]) for a in arrays),
            len(arrays),
        )
        for key, arrays in days.items()
    }


def assert_summaries_equal(conn: MySQLdb.Connection, candles: dict[tuple[str, int], list]) -> None:
    conn.commit()
    want = daily_model(candles)
    got = rows_of(
        conn,
        "SELECT symbol, trade_date, `open`, high, low, `close`, volume, quote_volume, candles FROM v_daily_ohlcv "
        "WHERE `interval` = '1h' ORDER BY symbol, trade_date",
    )
    assert {(r[0], r[1]): tuple(r[2:]) for r in got} == want
    series: dict[str, list[int]] = defaultdict(list)
    for symbol, open_ms in candles:
        series[symbol].append(open_ms)
    got_series = rows_of(
        conn, "SELECT symbol, first_open_time, last_open_time, candles, days FROM agg_kline_series ORDER BY symbol"
    )
    assert got_series == [
        (
            symbol,
            datetime.fromtimestamp(min(opens) / 1000, UTC).replace(tzinfo=None),
            datetime.fromtimestamp(max(opens) / 1000, UTC).replace(tzinfo=None),
            len(opens),
            len({k[1] for k in want if k[0] == symbol}),
        )
        for symbol, opens in sorted(series.items())
    ]
    drift = summaries.drift(SYMBOLS, "1h", START.date() - timedelta(days=1), START.date() + timedelta(days=6))
    assert rows_of(conn, f"SELECT {drift}") == [(0,)]


def clear(conn: MySQLdb.Connection) -> None:
    for table in ("fact_kline", "agg_kline_daily", "agg_kline_series"):
        conn.cursor().execute(f"DELETE FROM {table}")
    conn.commit()


write = st.tuples(
    st.sampled_from(["batch", "stream", "insert_new"]),
    st.sampled_from(SYMBOLS),
    st.lists(st.integers(0, HOURS - 1), min_size=1, max_size=30, unique=True),
    st.integers(10**8, 10**12),  # price in 1e-8
    st.integers(4, 10**6),
    st.integers(1, 10**9),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(write, min_size=1, max_size=6))
def test_summaries_equal_the_candles_after_any_sequence_of_writes(
    db: MySQLdb.Connection, tmp_path: Path, writes: list[tuple]
):
    """Bulk loads (new candles, reruns, updates of candles held), the stream's small upserts and insert-if-new, in
    any order: the daily rows and the coverage equal what the candles say, day by day."""
    clear(db)
    held: dict[tuple[str, int], list] = {}
    for number, (path, symbol, hours, price, spread, volume) in enumerate(writes):
        arrays = [candle(symbol, HOUR_MS, START_MS + h * HOUR_MS, price + h * 1000, spread, volume + h) for h in hours]
        rows = rows_for(arrays, symbol)
        if path == "batch":
            csv = tmp_path / f"fact_kline.{number}.csv"
            upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, rows), f"run-{number}")
            held.update({(symbol, a[0]): a for a in arrays})
        elif path == "stream":
            with transaction(warehouse_hook()) as cur:
                upsert_rows(cur, KLINE, rows)
            held.update({(symbol, a[0]): a for a in arrays})
        else:
            insert_new(warehouse_hook(), KLINE, rows)
            for a in arrays:
                held.setdefault((symbol, a[0]), a)
        assert_summaries_equal(db, held)


def test_the_gate_sees_a_summary_that_differs_from_its_candles(db: MySQLdb.Connection, tmp_path: Path):
    clear(db)
    arrays = [candle("AAAUSDT", HOUR_MS, START_MS + h * HOUR_MS, 10**9 + h, 50, 7) for h in range(48)]
    csv = tmp_path / "fact_kline.csv"
    upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, rows_for(arrays, "AAAUSDT")), "r")
    drift = summaries.drift(["AAAUSDT"], "1h", START.date(), START.date() + timedelta(days=2))
    assert rows_of(db, f"SELECT {drift}") == [(0,)]
    db.cursor().execute("UPDATE fact_kline SET high = high + 1 WHERE open_time = %s", (START.replace(tzinfo=None),))
    db.commit()  # a candle changed behind the writers' backs: its day (as summarised, as the candles say) differs
    assert rows_of(db, f"SELECT {drift}") == [(2,)]
    db.cursor().execute("UPDATE agg_kline_series SET candles = candles + 1")
    db.commit()
    assert rows_of(db, f"SELECT {drift}") == [(4,)]


def test_a_reader_never_sees_candles_without_their_summaries(db: MySQLdb.Connection, tmp_path: Path):
    """While batches and stream upserts land, every snapshot a reader takes has as many candles per series as
    its coverage row says."""
    clear(db)
    stop, seen, mismatches = threading.Event(), [0], []

    def read() -> None:
        conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", db=WAREHOUSE_DB)
        cur = conn.cursor()
        while not stop.is_set():
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            cur.execute("SELECT symbol, COUNT(*) FROM fact_kline GROUP BY symbol")
            counted = dict(cur.fetchall())
            cur.execute("SELECT symbol, candles FROM agg_kline_series")
            covered = dict(cur.fetchall())
            cur.execute("COMMIT")
            seen[0] += 1
            if counted != covered:
                mismatches.append((counted, covered))
        conn.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for hour in range(0, HOURS, 4):
            arrays = [candle("AAAUSDT", HOUR_MS, START_MS + (hour + h) * HOUR_MS, 10**9, 9, 3) for h in range(4)]
            rows = rows_for(arrays, "AAAUSDT")
            csv = tmp_path / f"fact_kline.{hour}.csv"
            upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, rows), "r")
            with transaction(warehouse_hook()) as cur:
                upsert_rows(cur, KLINE, rows_for([candle("BBBUSDT", HOUR_MS, arrays[0][0], 10**9, 9, 3)], "BBBUSDT"))
    finally:
        stop.set()
        reader.join()
    assert seen[0] > 10
    assert mismatches == []
    assert rows_of(db, "SELECT symbol, candles FROM agg_kline_series ORDER BY symbol") == [
        ("AAAUSDT", HOURS),
        ("BBBUSDT", HOURS // 4),
    ]


def test_an_old_warehouse_gets_its_summaries_when_upgraded_and_by_the_rebuild_command(
    db: MySQLdb.Connection, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    clear(db)
    held = {}
    for symbol in SYMBOLS:
        arrays = [candle(symbol, HOUR_MS, START_MS + h * HOUR_MS, 10**10 - h * 7, 30, h + 1) for h in range(HOURS)]
        csv = tmp_path / f"fact_kline.{symbol}.csv"
        upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, rows_for(arrays, symbol)), "r")
        held.update({(symbol, a[0]): a for a in arrays})
    for table in ("agg_kline_daily", "agg_kline_series"):  # as a warehouse from before the summaries has them
        db.cursor().execute(f"DELETE FROM {table}")
    db.commit()
    caplog.set_level("INFO")
    assert upgrade_schema(WAREHOUSE_DB) == ["summaries of 2 series"]
    assert "series 2 of 2: BBBUSDT 1h, 96 candles summarised" in caplog.text
    assert_summaries_equal(db, held)
    db.cursor().execute("UPDATE agg_kline_daily SET `close` = 1 WHERE symbol = 'AAAUSDT'")
    db.cursor().execute(
        "INSERT INTO agg_kline_daily SELECT 'AAAUSDT', `interval`, '2020-01-01', `open`, high, low, "
        "`close`, volume, quote_volume, trades, sum_close, candles, first_open_time, last_open_time "
        "FROM agg_kline_daily LIMIT 1"
    )  # a day without candles: the rebuild drops it
    db.commit()
    summaries.main(["aaausdt"])
    assert_summaries_equal(db, held)
    assert upgrade_schema(WAREHOUSE_DB) == []  # summaries present: nothing rebuilt


def rows_read(cur: object) -> int:
    """Rows this connection's statements have read so far (MariaDB's Handler_read_* counters)."""
    cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
    return sum(int(value) for _, value in cur.fetchall())


def test_the_streams_next_candles_merge_into_their_day_without_reading_it_again(db: MySQLdb.Connection, tmp_path: Path):
    """A day of 1,200 minute candles: the stream's next candle is merged into the day's row (a handful of rows
    read, not the day); a candle before the day's last one is recomputed from the day's candles. Exact both ways."""
    clear(db)
    arrays = [candle("AAAUSDT", 60_000, START_MS + m * 60_000, 10**9 + 7 * m, 40 + m % 9, m + 1) for m in range(1203)]
    csv = tmp_path / "fact_kline.csv"
    held = rows_for(arrays[:1200], "AAAUSDT", "1m")
    upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, held), "day")
    reads = {}
    earlier = [candle("AAAUSDT", 60_000, START_MS, 10**9, 3, 2)]
    for name, batch in (("next", arrays[1200:]), ("earlier", earlier)):
        with transaction(warehouse_hook()) as cur:
            before = rows_read(cur)
            upsert_rows(cur, KLINE, rows_for(batch, "AAAUSDT", "1m"))
            reads[name] = rows_read(cur) - before
    assert reads["next"] < 50 < 1200 <= reads["earlier"], reads
    db.commit()
    drift = summaries.drift(["AAAUSDT"], "1m", START.date(), START.date() + timedelta(days=1))
    assert rows_of(db, f"SELECT {drift}") == [(0,)]
    assert rows_of(db, "SELECT candles, days FROM agg_kline_series WHERE `interval` = '1m'") == [(1203, 1)]


INTERVAL_TABLES = ("fact_kline", "agg_kline_daily", "agg_kline_series", "kline_gap", "etl_reject", "etl_import_state")


def test_a_month_candle_and_a_minute_candle_opening_together_are_two_series_also_after_an_upgrade(
    db: MySQLdb.Connection, tmp_path: Path
):
    """``1M`` and ``1m`` differ only in case: in a case-insensitive key the month candle would overwrite the minute
    candle opening at the same instant. An older warehouse's interval columns are made binary by the upgrade."""
    clear(db)
    for table in INTERVAL_TABLES:  # as an older release created them
        db.cursor().execute(
            f"ALTER TABLE {table} MODIFY `interval` VARCHAR(4) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci "
            f"{'NULL' if table == 'etl_import_state' else 'NOT NULL'}"
        )
    assert upgrade_schema(WAREHOUSE_DB) == [f"{table}.interval binary" for table in INTERVAL_TABLES]
    assert upgrade_schema(WAREHOUSE_DB) == []
    opens = START_MS + 3 * DAY_MS  # 2024-03-01T00:00Z: a month, a day and a minute open together
    minute = rows_for([candle("AAAUSDT", 60_000, opens, 10**9, 40, 3)], "AAAUSDT", "1m")
    month = rows_for([candle("AAAUSDT", 31 * DAY_MS, opens, 2 * 10**9, 90, 5)], "AAAUSDT", "1M")
    csv = tmp_path / "fact_kline.csv"
    upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, minute), "minute")
    with transaction(warehouse_hook()) as cur:  # the stream's path
        upsert_rows(cur, KLINE, month)
    db.commit()
    assert rows_of(db, "SELECT `interval`, `open` FROM fact_kline ORDER BY BINARY `interval`") == [
        ("1M", Decimal("20.00000000")),
        ("1m", Decimal("10.00000000")),
    ]
    assert rows_of(db, "SELECT `interval`, candles FROM agg_kline_series ORDER BY BINARY `interval`") == [
        ("1M", 1),
        ("1m", 1),
    ]
    for interval in ("1m", "1M"):
        drift = summaries.drift(["AAAUSDT"], interval, START.date(), START.date() + timedelta(days=5))
        assert rows_of(db, f"SELECT {drift}") == [(0,)]


def daily_closes(symbol: str, days: int, step: int) -> list[list]:
    first = START_MS - (days - 1) * DAY_MS
    return [candle(symbol, DAY_MS, first + d * DAY_MS, 10**10 + d * step * 10**5, 11, 5) for d in range(days)]


def test_price_change_and_top_worst_match_the_closes_computed_here(db: MySQLdb.Connection, tmp_path: Path):
    """Five daily series: three current over 400 days (rising, falling, flat), one only 20 days long (no 30-day
    change), one that stopped 40 days ago (not ranked: not current)."""
    clear(db)
    series = {
        "AAAUSDT": daily_closes("AAAUSDT", 400, 3),
        "BBBUSDT": daily_closes("BBBUSDT", 400, -2),
        "CCCUSDT": daily_closes("CCCUSDT", 400, 0),
        "DDDUSDT": daily_closes("DDDUSDT", 20, 5),
        "EEEUSDT": daily_closes("EEEUSDT", 400, -9)[:-40],
    }
    for symbol, arrays in series.items():
        csv = tmp_path / f"fact_kline.{symbol}.csv"
        rows = rows_for(arrays, symbol, "1d")
        upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, rows), "r")

    def close_on_or_before(arrays: list[list], day: date) -> Decimal | None:
        closes = [Decimal(a[4]) for a in arrays if datetime.fromtimestamp(a[0] / 1000, UTC).date() <= day]
        return closes[-1] if closes else None

    want = {}
    for symbol, arrays in series.items():
        final = datetime.fromtimestamp(arrays[-1][0] / 1000, UTC).date()
        now = Decimal(arrays[-1][4])
        ago = {h: close_on_or_before(arrays, final - timedelta(days=h)) for h in (30, 365)}
        pct = {h: None if ago[h] is None else (now / ago[h] - 1) * 100 for h in (30, 365)}
        want[symbol] = (final, now, ago[30], ago[365], pct[30], pct[365])
    got = rows_of(db, "SELECT * FROM v_price_change WHERE `interval` = '1d' ORDER BY symbol")
    assert {r[0]: r[2:6] for r in got} == {s: w[:4] for s, w in want.items()}
    for row in got:  # MariaDB's division keeps 4 more decimals than its dividend: compare to that precision
        for value, expected in zip(row[6:], want[row[0]][4:], strict=True):
            assert (value is None) == (expected is None)
            if expected is not None:
                assert abs(value - expected) < Decimal("1e-6")
    assert rows_of(db, "SELECT * FROM v_price_change WHERE symbol = 'DDDUSDT'")[0][4] is None
    ranked = rows_of(
        db,
        "SELECT horizon_days, symbol, top_rank, worst_rank FROM v_top_worst WHERE `interval` = '1d' "
        "ORDER BY horizon_days, top_rank",
    )
    assert ranked == [
        (30, "AAAUSDT", 1, 3),
        (30, "CCCUSDT", 2, 2),
        (30, "BBBUSDT", 3, 1),
        (365, "AAAUSDT", 1, 3),
        (365, "CCCUSDT", 2, 2),
        (365, "BBBUSDT", 3, 1),
    ]
    # the report's range measures come from the daily summary: average close, high, low, volume, trades
    first, end = date(2023, 6, 1), date(2023, 9, 1)
    in_range = [a for a in series["AAAUSDT"] if first <= datetime.fromtimestamp(a[0] / 1000, UTC).date() < end]
    assert rows_of(
        db,
        "SELECT SUM(sum_close) / SUM(candles), MAX(high), MIN(low), SUM(volume), SUM(trades) FROM agg_kline_daily "
        "WHERE symbol = 'AAAUSDT' AND `interval` = '1d' AND trade_date >= %s AND trade_date < %s",
        (first, end),
    ) == [
        (
            pytest.approx(sum(Decimal(a[4]) for a in in_range) / len(in_range), abs=Decimal("1e-8")),
            max(Decimal(a[2]) for a in in_range),
            min(Decimal(a[3]) for a in in_range),
            sum(Decimal(a[5]) for a in in_range),
            sum(a[8] for a in in_range),
        )
    ]


def test_the_candle_chart_picks_a_resolution_that_shows_the_whole_range(db: MySQLdb.Connection, tmp_path: Path):
    """Four days of 1h candles: drawn as they are when they fit, merged into 2h candles made from them when the
    chart holds 50, and as the daily summary's candles when it holds 4."""
    from binance_dashboard import queries

    clear(db)
    arrays = [
        candle("AAAUSDT", HOUR_MS, START_MS + h * HOUR_MS, 10**9 + (h * 7919) % 5000 * 10**4, 99, h + 1)
        for h in range(HOURS)
    ]
    csv = tmp_path / "fact_kline.csv"
    upsert_csv(warehouse_hook(), KLINE, csv, write_csv(csv, klines.COLUMNS, rows_for(arrays, "AAAUSDT")), "r")
    start, end = START.replace(tzinfo=None), START.replace(tzinfo=None) + timedelta(days=4)

    def merged(group: list[list]) -> dict:
        return {
            "open_time_ms": group[0][0],
            "open": float(group[0][1]),
            "high": max(float(a[2]) for a in group),
            "low": min(float(a[3]) for a in group),
            "close": float(group[-1][4]),
            "volume": float(sum(Decimal(a[5]) for a in group)),
        }

    shown = queries.candles("AAAUSDT", "1h", start, end)
    assert (shown["resolution"], shown["truncated"], len(shown["candles"])) == ("1h", False, HOURS)
    assert shown["candles"] == [merged([a]) for a in arrays]
    two_hours = queries.candles("AAAUSDT", "1h", start, end, limit=50)
    assert two_hours["resolution"] == "2h"
    assert two_hours["candles"] == [merged(arrays[i : i + 2]) for i in range(0, HOURS, 2)]
    daily = queries.candles("AAAUSDT", "1h", start, end, limit=4)
    assert (daily["resolution"], daily["truncated"]) == ("1d", False)
    assert daily["candles"] == [merged(arrays[i : i + 24]) for i in range(0, HOURS, 24)]
    newest = queries.candles("AAAUSDT", "1h", start - timedelta(days=10), end, limit=3)
    assert (newest["truncated"], newest["candles"]) == (True, daily["candles"][-3:])
    # decided from the range alone: 8 years of 1m as days, 20 days of 1m as 15m candles, 3 days of 1m as they are
    years = datetime(2026, 1, 1) - datetime(2018, 1, 1)
    assert [queries.resolution("1m", start, start + span) for span in (years, timedelta(20), timedelta(3))] == [
        "1d",
        "15m",
        "1m",
    ]
    cards = queries.range_summary(["AAAUSDT"], "1h", START.date(), START.date() + timedelta(days=2))
    first_two_days = arrays[:48]
    assert cards["per_symbol"] == [
        {
            "symbol": "AAAUSDT",
            "average_price": pytest.approx(float(sum(Decimal(a[4]) for a in first_two_days) / 48)),
            "high": max(float(a[2]) for a in first_two_days),
            "low": min(float(a[3]) for a in first_two_days),
            "final_date": (START.date() + timedelta(days=1)).isoformat(),
            "final_close": float(first_two_days[-1][4]),
            "volume": float(sum(Decimal(a[5]) for a in first_two_days)),
            "quote_volume": float(sum(Decimal(a[7]) for a in first_two_days)),
            "trades": float(sum(a[8] for a in first_two_days)),
            "candles": float(48),
        }
    ]
