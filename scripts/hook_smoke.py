"""Smoke run of BinanceHook against whatever ``binance_default`` points at; prints what it fetched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from binance_airflow.hook import BinanceHook


def main() -> None:
    hook = BinanceHook()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=3)
    print(f"ping: {hook.ping()}  server time: {hook.server_time_ms()}")
    info = hook.exchange_info(["BTCUSDT", "ETHUSDT"])
    print(f"exchangeInfo: {[s['symbol'] for s in info['symbols']]}  weight limit/min: {hook.budget.limit}")
    for symbol in ("BTCUSDT", "ETHUSDT"):
        klines = list(hook.iter_klines(symbol, "1m", start, end))
        span = f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M}"
        print(f"{symbol} 1m {span}: {len(klines)} candles, last close {klines[-1][4]}")
    if hook.has_credentials:
        balances = hook.account()["balances"]
        print("balances:", ", ".join(f"{b['asset']}={b['free']}" for b in balances))
    print(f"weight used this minute: {hook.budget.used}")


if __name__ == "__main__":
    main()
