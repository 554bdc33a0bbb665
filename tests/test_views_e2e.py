"""The BI views over a warehouse filled by a whole dag.test() run, against figures computed here from the
simulator's own candles and the loaded snapshots."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import MySQLdb
import pytest

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
    from tests.conftest import connection_uri

    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {WAREHOUSE_DB}")
    Sim(sim_url).reset()
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim_url))
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


def test_portfolio_value_prices_each_balance_in_usdt(loaded: MySQLdb.Connection):
    balances = query(loaded, f"SELECT asset, free + locked, snapshot_time FROM {WAREHOUSE_DB}.fact_balance")
    prices = dict(query(loaded, f"SELECT symbol, last_price FROM {WAREHOUSE_DB}.fact_ticker_24hr"))
    want = {asset: (qty, Decimal(1) if asset == "USDT" else prices[asset + "USDT"]) for asset, qty, _ in balances}
    got = query(loaded, f"SELECT asset, quantity, price_usdt, value_usdt FROM {WAREHOUSE_DB}.v_portfolio_value")
    assert {asset: (qty, price) for asset, qty, price, _ in got} == want
    assert sorted(want) == ["BTC", "ETH", "USDT"]
    for _, qty, price, value in got:
        assert value == qty * price
