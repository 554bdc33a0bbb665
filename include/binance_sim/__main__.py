"""Command line: ``python -m include.binance_sim --port 8999 --symbols BTCUSDT,ETHUSDT --start 2018-01-01``.

A symbol may carry its own listing day and delisting day: ``SOLUSDT@2020-08-11`` or
``HSRBTC@2017-08-18:2018-10-19``. ``--outages BTCUSDT@2020-02-19T11:35/2020-02-19T17:30,...`` takes
those minutes off the exchange (UTC, end exclusive), in REST and archives alike. ``--port 0`` picks a
free port; the first line printed names the REST URL, the second the WebSocket streams' URL.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from include.binance_sim.market import Market, Outage, SymbolSpec
from include.binance_sim.server import SimServer

BASE_PRICES = {"BTC": 13000.0, "ETH": 750.0, "BNB": 8.5, "SOL": 1.2, "XRP": 2.3, "ADA": 0.7, "LTC": 230.0}


def _day_ms(text: str) -> int:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def parse_symbols(text: str, default_start: str) -> list[SymbolSpec]:
    """``BTCUSDT,ETHUSDT@2019-01-01,HSRBTC@2017-08-18:2018-10-19`` → symbol specs."""
    specs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        symbol, _, days = item.partition("@")
        listed, _, delisted = (days or default_start).partition(":")
        spec = SymbolSpec(symbol.upper(), _day_ms(listed), _day_ms(delisted) if delisted else None)
        base = BASE_PRICES.get(spec.base_asset, 100.0)
        specs.append(SymbolSpec(spec.symbol, spec.listed_ms, spec.delisted_ms, base))
    if not specs:
        raise argparse.ArgumentTypeError("no symbols given")
    return specs


def _minute_ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO datetime: {text!r}") from None
    ms = int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)
    if ms % 60_000:
        raise argparse.ArgumentTypeError(f"outage bounds are whole minutes: {text!r}")
    return ms


def parse_outages(text: str) -> list[Outage]:
    """``BTCUSDT@2020-02-19T11:35/2020-02-19T17:30,...`` → outages (UTC, end exclusive)."""
    outages = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        symbol, _, span = item.partition("@")
        start, _, end = span.partition("/")
        if not (symbol and start and end):
            raise argparse.ArgumentTypeError(f"expected SYMBOL@START/END, got {item!r}")
        outages.append(Outage(symbol.upper(), _minute_ms(start), _minute_ms(end)))
    return outages


def parse_account(item: str) -> tuple[str, str, dict[str, int]]:
    """``KEY:SECRET:ASSET=AMOUNT,...`` (amounts as decimals) -> one more account the server knows."""
    try:
        key, secret, holdings = item.split(":", 2)
        balances = {a.upper(): round(float(v) * 10**8) for a, v in (h.split("=") for h in holdings.split(",") if h)}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KEY:SECRET:ASSET=AMOUNT,..., got {item!r}") from None
    return key, secret, balances


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m include.binance_sim", description=__doc__)
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT,XRPUSDT")
    parser.add_argument("--start", default="2018-01-01", help="listing day of symbols without their own")
    parser.add_argument("--outages", default="", help="SYMBOL@START/END,... minutes with no trading (UTC)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weight-limit", type=int, default=6000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--api-key", default="sim-api-key")
    parser.add_argument("--api-secret", default="sim-api-secret")
    parser.add_argument(
        "--account", action="append", default=[], type=parse_account, help="KEY:SECRET:BTC=1.5,... another account"
    )
    parser.add_argument("--cached-archives", type=int, default=48, help="archive files kept once built")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        specs, outages = parse_symbols(args.symbols, args.start), parse_outages(args.outages)
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    server = SimServer(
        Market(specs, seed=args.seed, outages=outages),
        port=args.port,
        weight_limit=args.weight_limit,
        api_key=args.api_key,
        api_secret=args.api_secret,
        more_accounts=args.account,
        latency_ms=args.latency_ms,
        quiet=not args.verbose,
        cached_archives=args.cached_archives,
    )
    print(f"binance-sim listening on {server.base_url}", flush=True)
    print(f"binance-sim streams on {server.streams.start()}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
