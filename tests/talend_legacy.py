"""The Talend project's own store, built as a migration meets it (../shared/seed/legacy-talend-warehouse.md), from
the simulator's candles: its MySQL database (no key on klines, prices rounded by FLOAT(40,0), decimal commas,
Europe/Paris times) and the files its jobs wrote."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import MySQLdb
import numpy as np

from tests.dag_runs import expected

PARIS = ZoneInfo("Europe/Paris")
EXPORTED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # when the old jobs last ran
BTC_FROM = datetime(2026, 9, 1, tzinfo=UTC)
LTC_LIFE = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 16, tzinfo=UTC))  # listed, delisted in the simulator
CAPTURED_AT = "2026-11-20T13:00:00+01:00"
KLINES_DDL = """CREATE TABLE klines (
  open_time DATETIME, open_price FLOAT, high_price FLOAT(40,0), low_price FLOAT(40,0), close_price FLOAT(40,0),
  Volume VARCHAR(40), close_time DATETIME, Quote_asset_volume VARCHAR(40), Number_of_trades VARCHAR(40),
  Taker_buy_base_asset_volume VARCHAR(40), Taker_buy_quote_asset_volume VARCHAR(40), `ignore` VARCHAR(40),
  symbol VARCHAR(60))"""
TICKER_FIELDS = (
    "priceChange",
    "priceChangePercent",
    "weightedAvgPrice",
    "prevClosePrice",
    "lastPrice",
    "lastQty",
    "bidPrice",
    "bidQty",
    "askPrice",
    "askQty",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
)
TICKER_DDL = (
    "CREATE TABLE `24hrs` (symbol VARCHAR(60) PRIMARY KEY, "
    + ", ".join(f"`{f}` VARCHAR(40)" for f in TICKER_FIELDS)
    + ", openTime DATETIME, closeTime DATETIME, firstId BIGINT, lastId BIGINT, `count` VARCHAR(40))"
)
BALANCE_DDL = (
    "CREATE TABLE balance (assets VARCHAR(20) PRIMARY KEY, free VARCHAR(40), lockes VARCHAR(40), symbol VARCHAR(40))"
)
BALANCES = [("BTC", "0,85", "0"), ("USDT", "4910445,8", "12,5"), ("ETH", "1,25", "0")]


def comma(text: str) -> str:
    """A decimal as the old jobs wrote it: a decimal comma, trailing zeros dropped."""
    trimmed = text.rstrip("0").rstrip(".") if "." in text else text
    return trimmed.replace(".", ",")


def single(text: str) -> float:
    """What a MySQL FLOAT column keeps of a price (single precision)."""
    return float(np.float32(float(text)))


def rounded_up(ms: int) -> datetime:
    """Binance's close time as the old table stored it: rounded up to the next whole second (naive UTC)."""
    return datetime.fromtimestamp(-(-ms // 1000), UTC).replace(tzinfo=None)


def naive_utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def paris(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(PARIS).replace(tzinfo=None)


def legacy_candles() -> dict[str, list[list]]:
    """The old store's candles: BTCUSDT's since BTC_FROM, the last still open at EXPORTED (a partial one); LTCUSDT's
    whole life and two candles after its delisting that Binance never had; three of a pair Binance does not know."""
    now_ms = int(EXPORTED.timestamp() * 1000)
    btc = [k for k in expected("BTCUSDT", "3d", BTC_FROM, EXPORTED) if k[0] <= now_ms]
    btc[-1] = [*btc[-1][:4], btc[-1][1], str(float(btc[-1][5]) / 2), *btc[-1][6:]]  # still open: half its volume
    ltc = expected("LTCUSDT", "3d", *LTC_LIFE)
    after = [next_ltc := ltc[-1][0] + 3 * 86_400_000, next_ltc + 3 * 86_400_000]
    ltc += [[o, "70.5", "71", "70", "70.5", "10", o + 3 * 86_400_000 - 1, "705", 3, "5", "352.5", "0"] for o in after]
    hsr = [
        [
            1503014400000 + i * 259_200_000,
            "1.5",
            "2",
            "1",
            "1.5",
            "100",
            1503014400000 + (i + 1) * 259_200_000 - 1,
            "150",
            10,
            "50",
            "75",
            "0",
        ]
        for i in range(3)
    ]
    return {"BTCUSDT": btc, "LTCUSDT": ltc, "HSRBTC": hsr}


def create_database(conn: MySQLdb.Connection, name: str, tickers: list[dict]) -> None:
    """The Talend project's `projet_crypto` database, as ``name``."""
    cur = conn.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {name}")
    cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    cur.execute(f"USE {name}")
    cur.execute(KLINES_DDL)
    for symbol, candles in legacy_candles().items():
        rows = [
            (
                naive_utc(k[0]),
                single(k[1]),
                float(k[2]),
                float(k[3]),
                float(k[4]),
                comma(k[5]),
                rounded_up(k[6]),
                comma(k[7]),
                str(k[8]),
                comma(k[9]),
                comma(k[10]),
                "0",
                symbol,
            )
            for k in candles
        ]
        rows.append(rows[0])  # no key: the same candle saved twice
        cur.executemany("INSERT INTO klines VALUES (" + ", ".join(["%s"] * 13) + ")", rows)
    cur.execute(TICKER_DDL)
    for t in tickers:
        cur.execute(
            "INSERT INTO `24hrs` VALUES (" + ", ".join(["%s"] * 21) + ")",
            (
                t["symbol"],
                *(comma(t[f]) for f in TICKER_FIELDS),
                paris(t["openTime"]),
                paris(t["closeTime"]),
                t["firstId"],
                t["lastId"],
                str(t["count"]),
            ),
        )
    cur.execute(BALANCE_DDL)
    cur.executemany("INSERT INTO balance VALUES (%s, %s, %s, %s)", [(*b, f"{b[0]}USDT") for b in BALANCES])
    conn.commit()


def ticker(symbol: str, close_ms: int, last: str = "101.25") -> dict:
    """A 24hr ticker in Binance's fields."""
    return {
        "symbol": symbol,
        "priceChange": "1.25",
        "priceChangePercent": "1.250",
        "weightedAvgPrice": "100.5",
        "prevClosePrice": "100",
        "lastPrice": last,
        "lastQty": "0.5",
        "bidPrice": "101.2",
        "bidQty": "1",
        "askPrice": "101.3",
        "askQty": "2",
        "openPrice": "100",
        "highPrice": "102.5",
        "lowPrice": "99.5",
        "volume": "1234.5",
        "quoteVolume": "124000.25",
        "openTime": close_ms - 86_400_000,
        "closeTime": close_ms,
        "firstId": 1,
        "lastId": 100,
        "count": 100,
    }


def write_files(root: Path, tickers: list[dict]) -> None:
    """The files the old jobs wrote, in their layouts."""
    (root / "jsonfiles_klines").mkdir(parents=True)
    btc = legacy_candles()["BTCUSDT"]
    (root / "jsonfiles_klines" / "BTCUSDT.json").write_text(json.dumps(btc))
    with (root / "balances.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["assets", "free", "lockes", "symbol"])
        writer.writerows([(a, f.replace(",", "."), lk.replace(",", "."), f"{a}USDT") for a, f, lk in BALANCES])
    with (root / "M3aaaalem.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("asset", "free", "locked"), ("BNB", "3.5", "0.5")])
    (root / "final").mkdir()
    with (root / "final" / "24hr.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["symbol", *TICKER_FIELDS, "openTime", "closeTime", "firstId", "lastId", "count"])
        for t in tickers:
            times = [paris(t[k]).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] for k in ("openTime", "closeTime")]
            writer.writerow(
                [t["symbol"], *(comma(t[f]) for f in TICKER_FIELDS), *times, t["firstId"], t["lastId"], t["count"]]
            )
    (root / "24hr.json").write_text(json.dumps([ticker(t["symbol"], t["closeTime"] - 3_600_000) for t in tickers]))
