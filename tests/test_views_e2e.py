"""The BI views over a warehouse filled by a whole dag.test() run, against figures computed here from the
simulator's own candles and the loaded snapshots."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import MySQLdb
import pytest

from include import settings
from tests.conftest import WAREHOUSE_DB, Sim
from tests.dag_runs import DAY, expected, query, run_dag

pytestmark = pytest.mark.dag
END = DAY + timedelta(days=2)  # today 00:00 UTC: recent, so the ticker and balances are captured too
START = datetime(END.year, END.month, 1, tzinfo=UTC) - timedelta(days=3)  # spans a month boundary


def daily_bars(symbol: str) -> dict:
    """trade date → (open, high, low, close, volume, candles) from the server's 1h candles."""
    days: dict = defaultdict(list)
    for k in expected(symbol, "1h", START, END):
        days[datetime.fromtimestamp(k[0] / 1000, UTC).date()].append([Decimal(v) for v in k[1:6]])
    return {
        day: (
            rows[0][0],
            max(r[1] for r in rows),
            min(r[2] for r in rows),
            rows[-1][3],
            sum(r[4] for r in rows),
            len(rows),
        )
        for day, rows in sorted(days.items())
    }


@pytest.fixture(scope="module")
def loaded(airflow_db: None, sim_url: str) -> MySQLdb.Connection:
    """BTCUSDT and ETHUSDT at 1h from three days before this month to today, with the ticker and balances."""
    monkeypatch = pytest.MonkeyPatch()
    from tests.conftest import ACCOUNT_B, connection_uri

    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB}")
    Sim(sim_url).reset()
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim_url))
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_COMPANY_B", connection_uri(sim_url, key=ACCOUNT_B[:2]))
    monkeypatch.setattr(settings, "ACCOUNTS", ["binance_default", "binance_company_b"])
    try:
        assert run_dag(START, END, ["BTCUSDT", "ETHUSDT"]) == "success"
        yield conn
    finally:
        monkeypatch.undo()
        conn.close()


def test_daily_ohlcv_matches_the_candles_day_by_day(loaded: MySQLdb.Connection):
    for symbol in ("BTCUSDT", "ETHUSDT"):
        got = query(
            loaded,
            f"SELECT trade_date, `open`, high, low, `close`, volume, candles FROM "
            f"{WAREHOUSE_DB}.v_daily_ohlcv WHERE symbol = '{symbol}' AND `interval` = '1h' "
            "ORDER BY trade_date",
        )
        want = daily_bars(symbol)
        assert [(row[0], *row[1:]) for row in got] == [(day, *bar) for day, bar in want.items()]


def test_monthly_returns_and_volatility_follow_the_daily_closes(loaded: MySQLdb.Connection):
    bars = daily_bars("BTCUSDT")
    months: dict = defaultdict(list)
    previous = None
    for day, (open_, _, _, close, _, _) in bars.items():
        months[day.replace(day=1)].append((close, previous if previous is not None else open_, previous))
        previous = close
    got = query(
        loaded,
        f"SELECT month_start, trading_days, month_return, volatility_daily FROM "
        f"{WAREHOUSE_DB}.v_monthly_returns WHERE symbol = 'BTCUSDT' ORDER BY month_start",
    )
    assert [row[0] for row in got] == sorted(months)
    for month, days, month_return, volatility in got:
        rows = months[month]
        assert days == len(rows)
        assert float(month_return) == pytest.approx(float(rows[-1][0] / rows[0][1] - 1), abs=1e-9)
        returns = [float(close / prev - 1) for close, _, prev in rows if prev is not None]
        if len(returns) >= 2:
            assert volatility == pytest.approx(statistics.stdev(returns), rel=1e-6)
        else:
            assert volatility is None


def test_top_movers_rank_the_latest_ticker_snapshot(loaded: MySQLdb.Connection):
    tickers = query(loaded, f"SELECT symbol, price_change_percent FROM {WAREHOUSE_DB}.fact_ticker_24hr")
    assert len(tickers) == 2
    by_gain = [symbol for symbol, _ in sorted(tickers, key=lambda t: t[1], reverse=True)]
    got = query(loaded, f"SELECT symbol, gain_rank, loss_rank FROM {WAREHOUSE_DB}.v_top_movers_24h ORDER BY gain_rank")
    assert [row[0] for row in got] == by_gain
    assert [(row[1], row[2]) for row in got] == [(1, 2), (2, 1)]


def test_two_accounts_balances_load_side_by_side_each_priced_in_usdt(loaded: MySQLdb.Connection):
    free = query(loaded, f"SELECT account, asset, free FROM {WAREHOUSE_DB}.fact_balance ORDER BY 1, 2")
    assert free == [
        ("binance_company_b", "BNB", Decimal("3")),
        ("binance_company_b", "BTC", Decimal("0.5")),
        ("binance_company_b", "USDT", Decimal("250.5")),
        ("binance_default", "BTC", Decimal("1.5")),
        ("binance_default", "ETH", Decimal("20")),
        ("binance_default", "USDT", Decimal("12345.6789")),
    ]  # each account's own balances, as the simulator holds them for its key pair
    balances = query(loaded, f"SELECT account, asset, free + locked FROM {WAREHOUSE_DB}.fact_balance")
    prices = dict(query(loaded, f"SELECT symbol, last_price FROM {WAREHOUSE_DB}.fact_ticker_24hr"))
    price = {asset: Decimal(1) if asset == "USDT" else prices.get(asset + "USDT") for _, asset, _ in balances}
    assert price["BNB"] is None  # no BNBUSDT price in this warehouse: unpriced, not guessed
    got = query(
        loaded, f"SELECT account, asset, quantity, price_usdt, value_usdt FROM {WAREHOUSE_DB}.v_portfolio_by_account"
    )
    assert sorted(got, key=str) == sorted(
        ((a, s, q, price[s], None if price[s] is None else q * price[s]) for a, s, q in balances), key=str
    )
    accounts = query(loaded, f"SELECT account, kind, connection_id FROM {WAREHOUSE_DB}.dim_account ORDER BY 1")
    assert accounts == [
        ("binance_company_b", "binance", "binance_company_b"),
        ("binance_default", "binance", "binance_default"),
    ]


def test_the_consolidated_portfolio_sums_every_accounts_latest_snapshot(loaded: MySQLdb.Connection):
    by_account = query(loaded, f"SELECT asset, quantity, value_usdt FROM {WAREHOUSE_DB}.v_portfolio_by_account")
    want: dict = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for asset, quantity, value in by_account:
        want[asset][0] += 1
        want[asset][1] += quantity
        want[asset][2] = None if value is None or want[asset][2] is None else want[asset][2] + value
    got = query(loaded, f"SELECT asset, accounts, quantity, value_usdt FROM {WAREHOUSE_DB}.v_portfolio_consolidated")
    assert {asset: [n, q, v] for asset, n, q, v in got} == dict(want)
    assert dict((a, n) for a, n, _, _ in got) == {"BNB": 1, "BTC": 2, "ETH": 1, "USDT": 2}
    per_snapshot = query(loaded, f"SELECT SUM(value_usdt) FROM {WAREHOUSE_DB}.v_portfolio_value")
    assert per_snapshot == [(sum(v for _, _, v in by_account if v is not None),)]  # BNB unpriced: no value
