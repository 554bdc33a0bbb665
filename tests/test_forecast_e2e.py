"""binance_forecast as dag.test() runs over candles a binance_etl run loaded from the simulator."""

from __future__ import annotations

from datetime import timedelta

import MySQLdb
import pytest

from include import forecasting, settings
from tests.conftest import WAREHOUSE_DB, Sim
from tests.dag_runs import DAY, load_dag, query, run_dag

pytestmark = pytest.mark.dag
END = DAY + timedelta(days=2)
DAYS = 15  # a week of history for the first fold, plus the backtest's seven days


def run_forecast() -> str:
    return load_dag("binance_forecast").test().state


def test_forecast_dag_is_scheduled_on_the_fact_kline_asset():
    dag = load_dag("binance_forecast")
    assert [asset.name for asset in dag.timetable.asset_condition.objects] == ["binance_warehouse.fact_kline"]
    assert [t.task_id for t in dag.tasks if not t.doc_md] == []


def test_forecasts_the_next_24_hours_with_intervals_and_writes_backtest_metrics(
    airflow_db: None, warehouse: MySQLdb.Connection, binance_conn: Sim
):
    assert run_dag(END - timedelta(days=DAYS), END, ["BTCUSDT"]) == "success"
    assert run_dag(END - timedelta(days=3), END, ["ETHUSDT"]) == "success"  # too short a history: no forecast
    assert run_forecast() == "success"

    columns = "made_at, target_time, horizon, yhat, lo_80, hi_80, lo_95, hi_95, model"
    rows = query(
        warehouse, f"SELECT {columns} FROM {WAREHOUSE_DB}.fact_forecast WHERE symbol = 'BTCUSDT' ORDER BY target_time"
    )
    assert len(rows) == 24
    assert {row[0] for row in rows} == {END.replace(tzinfo=None)}  # the hour after the last closed candle
    assert [row[1] for row in rows] == [END.replace(tzinfo=None) + timedelta(hours=h) for h in range(24)]
    assert [row[2] for row in rows] == list(range(1, 25))
    last_close = query(
        warehouse,
        f"SELECT `close` FROM {WAREHOUSE_DB}.fact_kline WHERE symbol = 'BTCUSDT' ORDER BY open_time DESC LIMIT 1",
    )[0][0]
    for _, _, _, yhat, lo80, hi80, lo95, hi95, model in rows:
        assert lo95 <= lo80 <= yhat <= hi80 <= hi95 and model == "AutoETS"
        assert abs(yhat / float(last_close) - 1) < 0.2
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_forecast WHERE symbol = 'ETHUSDT'")[0][0] == 0

    (metrics,) = query(
        warehouse,
        f"SELECT evaluated_at, folds, horizon, mase, mape, coverage_80, coverage_95 "
        f"FROM {WAREHOUSE_DB}.forecast_metrics WHERE symbol = 'BTCUSDT'",
    )
    assert metrics[:3] == (END.replace(tzinfo=None), settings.FORECAST_BACKTEST_FOLDS, forecasting.HORIZON)
    assert 0 < metrics[3] < 3 and 0 < metrics[4] < 50 and 0 <= metrics[5] <= metrics[6] <= 1

    assert run_forecast() == "success"  # the same origin again: rows replaced, not added
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_forecast")[0][0] == 24
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.forecast_metrics")[0][0] == 1
