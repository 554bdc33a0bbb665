"""The binance_forecast DAG's steps: read hourly closes from the warehouse, forecast, backtest, write back."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from binance_airflow.warehouse.connection import transaction, warehouse_hook
from include import forecasting, settings
from include.sql_files import sql

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)


def hourly_series() -> list[str]:
    """Symbols whose 1h candles are enough to fit the forecaster."""
    rows = warehouse_hook().get_records(sql("forecast/hourly_series.sql"), {"min_hours": forecasting.MIN_TRAIN})
    return [symbol for (symbol,) in rows]


def latest_run(symbol: str, hours: int) -> tuple[list[datetime], list[float]]:
    """Open times and closes of the symbol's latest gap-free run of 1h candles (at most ``hours``), oldest first."""
    rows = warehouse_hook().get_records(sql("forecast/hourly_closes.sql"), {"symbol": symbol, "hours": hours})
    run = list(rows[:1])
    for row in rows[1:]:
        if run[-1][0] - row[0] != HOUR:
            log.info("%s: gap before %s; forecasting from the %d hours after it", symbol, run[-1][0], len(run))
            break
        run.append(row)
    run.reverse()
    return [open_time for open_time, _ in run], [float(close) for _, close in run]


def forecast_symbol(symbol: str) -> dict[str, Any]:
    """Forecast the next 24 closes of ``symbol`` and backtest the model on its history, in one transaction."""
    folds = settings.FORECAST_BACKTEST_FOLDS
    times, closes = latest_run(symbol, forecasting.TRAIN_WINDOW + folds * forecasting.HORIZON)
    if len(closes) < forecasting.MIN_TRAIN:
        log.warning("%s: only %d gap-free hours; no forecast", symbol, len(closes))
        return {"symbol": symbol, "forecast": 0, "metrics": None}
    made_at = times[-1] + HOUR
    made = forecasting.forecast(closes)
    rows = [
        (
            symbol,
            forecasting.MODEL,
            made_at,
            made_at + step * HOUR,
            step + 1,
            float(made.yhat[step]),
            float(made.lo[80][step]),
            float(made.hi[80][step]),
            float(made.lo[95][step]),
            float(made.hi[95][step]),
        )
        for step in range(forecasting.HORIZON)
    ]
    metrics = None
    if len(closes) >= forecasting.MIN_TRAIN + folds * forecasting.HORIZON:
        metrics = forecasting.score(forecasting.folds(closes, folds))
    else:
        log.info("%s: %d hours are too few for %d backtest folds; metrics skipped", symbol, len(closes), folds)
    with transaction(warehouse_hook()) as cursor:
        cursor.executemany(sql("forecast/upsert_forecast.sql"), rows)
        if metrics is not None:
            cursor.execute(
                sql("forecast/upsert_metrics.sql"),
                (
                    symbol,
                    forecasting.MODEL,
                    made_at,
                    metrics.folds,
                    forecasting.HORIZON,
                    metrics.mase,
                    metrics.mape,
                    metrics.coverage[80],
                    metrics.coverage[95],
                ),
            )
    summary = {
        "symbol": symbol,
        "made_at": made_at.isoformat(),
        "forecast": len(rows),
        "metrics": None
        if metrics is None
        else {
            "mase": metrics.mase,
            "mape": metrics.mape,
            "coverage_80": metrics.coverage[80],
            "coverage_95": metrics.coverage[95],
        },
    }
    log.info("%s: 24 h forecast from %s; backtest %s", symbol, made_at, summary["metrics"])
    return summary
