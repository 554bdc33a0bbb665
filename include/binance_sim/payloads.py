"""JSON bodies of the simulated endpoints, with Binance's field names and types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from include.binance_sim.market import UNIT, Candles, Market, SymbolSpec, format_units
from include.intervals import DAY_MS, MINUTE_MS, floor_open

_KLINE = '[%d,"%d.%08d","%d.%08d","%d.%08d","%d.%08d","%d.%08d",%d,"%d.%08d",%d,"%d.%08d","%d.%08d","0"]'
_CSV_ROW = "%d,%d.%08d,%d.%08d,%d.%08d,%d.%08d,%d.%08d,%d,%d.%08d,%d,%d.%08d,%d.%08d,0\n"


def _kline_rows(table: Candles) -> Iterator[tuple[int, ...]]:
    """Candle columns as rows of the integers behind Binance's 12 kline fields (decimals split in two)."""
    columns: list[np.ndarray] = [table["open_time"]]
    for name in ("open", "high", "low", "close", "volume", "close_time", "quote_volume", "trades"):
        columns += [table[name]] if name in ("close_time", "trades") else list(np.divmod(table[name], UNIT))
    for name in ("taker_base", "taker_quote"):
        columns += list(np.divmod(table[name], UNIT))
    return zip(*(c.tolist() for c in columns), strict=True)


def klines_json(table: Candles) -> bytes:
    """Candle columns as Binance's JSON array of 12-element arrays, decimals as 8-place strings."""
    return ("[" + ",".join(_KLINE % row for row in _kline_rows(table)) + "]").encode()


def klines_csv(table: Candles, microseconds: bool) -> bytes:
    """Candle columns as an archive CSV (no header); times in µs for files dated 2025-01-01 or later."""
    if microseconds:
        table = {**table, "open_time": table["open_time"] * 1000, "close_time": table["close_time"] * 1000 + 999}
    return "".join(_CSV_ROW % row for row in _kline_rows(table)).encode()


def symbol_info(spec: SymbolSpec, now_ms: int) -> dict[str, Any]:
    status = "BREAK" if spec.delisted_ms is not None and spec.delisted_ms <= now_ms else "TRADING"
    return {
        "symbol": spec.symbol,
        "status": status,
        "baseAsset": spec.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": format_units(spec.tick_units),
                "maxPrice": "1000000.00000000",
                "tickSize": format_units(spec.tick_units),
            },
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(market: Market, symbols: list[str], weight_limit: int) -> dict[str, Any]:
    now = market.now_ms()
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": weight_limit},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(market.specs[s], now) for s in symbols],
    }


def listed_only(name: str) -> dict[str, Any]:
    """An exchangeInfo entry for a name the server lists as a TRADING USDT symbol and serves nothing for."""
    return {"symbol": name, "status": "TRADING", "baseAsset": name.removesuffix("USDT"), "quoteAsset": "USDT"}


def ticker_24hr(market: Market, symbol: str, mini: bool) -> dict[str, Any]:
    """Rolling 24-hour statistics over the minutes that exist now."""
    now = market.now_ms()
    start = floor_open(now, "1m") - DAY_MS + MINUTE_MS
    window = market.minutes(symbol, start - MINUTE_MS, now + 1)
    prev = window["close"][0] if len(window["open_time"]) and window["open_time"][0] < start else 0
    inside = window["open_time"] >= start
    w = {k: v[inside] for k, v in window.items()}
    count = int(w["trades"].sum())
    if count == 0:
        op = hi = lo = last = vol = qv = 0
    else:
        op, last = int(w["open"][0]), int(w["close"][-1])
        hi, lo = int(w["high"].max()), int(w["low"].min())
        vol, qv = int(w["volume"].sum()), int(w["quote_volume"].sum())
    first_id = (start - market.specs[symbol].listed_ms) // MINUTE_MS * 41 + 1 if count else -1
    body: dict[str, Any] = {"symbol": symbol}
    if not mini:
        change = last - op
        body |= {
            "priceChange": format_units(change),
            "priceChangePercent": f"{(change / op * 100 if op else 0):.3f}",
            "weightedAvgPrice": format_units(qv * UNIT // vol if vol else 0),
            "prevClosePrice": format_units(int(prev)),
            "lastQty": format_units(int(w["volume"][-1]) // max(int(w["trades"][-1]), 1) if count else 0),
            "bidPrice": format_units(last),
            "bidQty": "1.00000000",
            "askPrice": format_units(last + market.specs[symbol].tick_units if count else 0),
            "askQty": "1.00000000",
        }
    body |= {
        "openPrice": format_units(op),
        "highPrice": format_units(hi),
        "lowPrice": format_units(lo),
        "lastPrice": format_units(last),
        "volume": format_units(vol),
        "quoteVolume": format_units(qv),
        "openTime": start,
        "closeTime": now,
        "firstId": first_id,
        "lastId": first_id + count - 1 if count else -1,
        "count": count,
    }
    return body


def account(balances: dict[str, int], now_ms: int) -> dict[str, Any]:
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": "0.00100000",
            "taker": "0.00100000",
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": [
            {"asset": a, "free": format_units(u), "locked": format_units(u // 10)} for a, u in sorted(balances.items())
        ],
        "permissions": ["SPOT"],
        "uid": 354937868,
    }
