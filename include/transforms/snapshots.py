"""Rows for dim_symbol (exchangeInfo), fact_ticker_24hr and fact_balance (per-run snapshots)."""

from __future__ import annotations

import re
from typing import Any

from include.run_window import RunWindow
from include.settings import DEFAULT_ACCOUNT
from include.symbol_selection import is_name
from include.transforms.klines import exact_decimal, sql_datetime
from include.validation import InvalidValue

ASSET = re.compile(r"^[A-Z0-9_]{1,20}$")  # an asset code (BTC) or a status (TRADING), as exchangeInfo gives them
SYMBOL_COLUMNS = ("symbol", "base_asset", "quote_asset", "status")
TICKER_COLUMNS = (
    "symbol",
    "snapshot_time",
    "price_change",
    "price_change_percent",
    "last_price",
    "open_price",
    "high_price",
    "low_price",
    "volume",
    "quote_volume",
    "trade_count",
    "window_open_time",
    "window_close_time",
    "source",
)
BALANCE_COLUMNS = ("account", "asset", "snapshot_time", "free", "locked", "source")
ACCOUNT_COLUMNS = ("account", "kind", "connection_id")  # kind: binance (read by the ETL) or import
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a connection id, or an imported account's name


def symbol_rows(exchange_info: dict[str, Any], wanted: list[str]) -> list[tuple[Any, ...]]:
    """dim_symbol rows for ``wanted``; ValueError names every symbol exchangeInfo does not know."""
    known = {s["symbol"]: s for s in exchange_info.get("symbols", [])}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise ValueError(f"unknown symbol(s) {', '.join(unknown)}: not listed in exchangeInfo")
    rows = [(s, known[s].get("baseAsset"), known[s].get("quoteAsset"), known[s].get("status")) for s in wanted]
    for symbol, *codes in rows:
        if not all(isinstance(code, str) and ASSET.match(code) for code in codes):
            raise ValueError(f"exchangeInfo describes {symbol} with base, quote or status that are not codes")
    return rows


def ticker_rows(tickers: list[dict[str, Any]], source: str = "binance_api") -> list[tuple[Any, ...]]:
    """fact_ticker_24hr rows, one per symbol, stamped with the ticker's ``closeTime`` (Binance's time of it)."""
    rows = []
    for t in tickers:
        if not is_name(t.get("symbol")):
            raise ValueError(f"a 24hr ticker names {repr(t.get('symbol'))[:40]}, which is not a symbol name")
        for name in ("priceChange", "lastPrice", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume"):
            exact_decimal(t[name], f"{t['symbol']} {name}")
        exact_decimal(t["priceChangePercent"], f"{t['symbol']} priceChangePercent", scale=3, integer_digits=9)
        rows.append(
            (
                t["symbol"],
                sql_datetime(int(t["closeTime"])),
                t["priceChange"],
                t["priceChangePercent"],
                t["lastPrice"],
                t["openPrice"],
                t["highPrice"],
                t["lowPrice"],
                t["volume"],
                t["quoteVolume"],
                int(t["count"]),
                sql_datetime(int(t["openTime"])),
                sql_datetime(int(t["closeTime"])),
                source,
            )
        )
    return rows


def balance_rows(
    account: dict[str, Any], snapshot_ms: int, source: str = "binance_api", account_name: str = DEFAULT_ACCOUNT
) -> list[tuple[Any, ...]]:
    """fact_balance rows of ``account_name`` for every asset with a non-zero free or locked amount; ValueError
    names a bad one."""
    if not ACCOUNT_NAME.match(account_name):
        problem = "is not an account name (letters, digits, _ . -; at most 64)"
        raise InvalidValue(f"account {account_name[:70]!r} {problem}", f"account {problem}")
    rows = []
    for b in account.get("balances", []):
        asset = str(b.get("asset", ""))
        if not asset.isalnum() or not asset.isupper() or len(asset) > 20:
            problem = "is not an upper-case asset code such as BTC"
            raise InvalidValue(f"asset {asset!r} {problem}", f"asset {problem}")
        if "free" not in b or "locked" not in b:
            problem = "free and locked must be decimal numbers"
            raise InvalidValue(f"{asset}: {problem}, got {b!r}", problem)
        free, locked = (exact_decimal(b[name], f"{asset} {name}") for name in ("free", "locked"))
        if free < 0 or locked < 0:
            problem = "free and locked must be non-negative numbers"
            raise InvalidValue(f"{asset}: free {b['free']} and locked {b['locked']} {problem}", problem)
        if free or locked:
            rows.append((account_name, asset, sql_datetime(snapshot_ms), str(b["free"]), str(b["locked"]), source))
    return rows


# The registry's transforms (``(raw capture, window) -> rows``) of the tables staged from a run's raw captures.


def stage_symbols(exchange_info: dict[str, Any], _window: RunWindow) -> list[tuple[Any, ...]]:
    """dim_symbol rows of every symbol in the run's exchangeInfo capture (already cut to the run's symbols)."""
    return symbol_rows(exchange_info, [s["symbol"] for s in exchange_info["symbols"]])


def stage_ticker(tickers: list[dict[str, Any]], _window: RunWindow) -> list[tuple[Any, ...]]:
    return ticker_rows(tickers)


def stage_balances(capture: dict[str, Any], _window: RunWindow) -> list[tuple[Any, ...]]:
    """Non-zero balances of every account read, each stamped with Binance's server time when it was read."""
    return [
        row
        for account in capture["accounts"]
        for row in balance_rows(account, account["server_time_ms"], account_name=account["account"])
    ]


def stage_accounts(capture: dict[str, Any], _window: RunWindow) -> list[tuple[Any, ...]]:
    """dim_account rows of the accounts read (each named by its connection)."""
    return [(account["account"], "binance", account["account"]) for account in capture["accounts"]]
