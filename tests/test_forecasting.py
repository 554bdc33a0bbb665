"""Forecasts and their backtest on real hourly closes (ADAUSDT, ../shared/data), without Airflow."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from include import forecasting
from tests.test_transforms import SHARED

ADA = SHARED / "klines" / "normalized" / "ADAUSDT-1h-2023-11-01_2023-12-30.ohlcv-only.csv"


@pytest.fixture(scope="module")
def closes() -> np.ndarray:
    with ADA.open() as handle:
        return np.array([float(row[4]) for row in csv.reader(handle)])


def test_a_forecast_has_24_hours_with_nested_intervals_around_it(closes: np.ndarray):
    made = forecasting.forecast(closes)
    assert len(made.yhat) == forecasting.HORIZON == 24
    assert np.all(made.lo[95] <= made.lo[80]) and np.all(made.lo[80] <= made.yhat)
    assert np.all(made.yhat <= made.hi[80]) and np.all(made.hi[80] <= made.hi[95])
    assert np.all(np.diff(made.hi[95] - made.lo[95]) >= -1e-12)  # uncertainty does not shrink with the horizon


def test_every_training_window_ends_before_its_origin(closes: np.ndarray):
    """Poison everything from an origin on: that origin's forecast must not change (no leakage)."""
    count = 3
    clean = forecasting.folds(closes, count)
    assert [f.origin for f in clean] == forecasting.origins(len(closes), count)
    for index, fold in enumerate(clean):
        poisoned = closes.copy()
        poisoned[fold.origin :] = 1e6
        again = forecasting.folds(poisoned, count)[index]
        np.testing.assert_array_equal(again.forecast.yhat, fold.forecast.yhat)
        np.testing.assert_array_equal(again.forecast.hi[95], fold.forecast.hi[95])
        assert again.last_seen == closes[fold.origin - 1]
        np.testing.assert_array_equal(fold.actual, closes[fold.origin : fold.origin + 24])


def test_origins_leave_enough_history_and_whole_horizons():
    assert forecasting.origins(1000, 3) == [928, 952, 976]
    with pytest.raises(ValueError, match="cannot hold"):
        forecasting.origins(200, 3)
    with pytest.raises(ValueError, match="too few"):
        forecasting.forecast([1.0] * 100)


def test_backtest_scores_against_the_naive_forecast(closes: np.ndarray):
    made = forecasting.folds(closes, 10)
    metrics = forecasting.score(made)
    assert metrics.folds == 10
    naive_like = [
        forecasting.Fold(
            f.origin,
            f.last_seen,
            forecasting.Forecast(np.full(24, f.last_seen), f.forecast.lo, f.forecast.hi),
            f.actual,
        )
        for f in made
    ]
    assert forecasting.score(naive_like).mase == pytest.approx(1.0)
    assert 0.5 < metrics.mase < 2.0 and 0 < metrics.mape < 10
    assert 0.5 <= metrics.coverage[80] <= metrics.coverage[95] <= 1.0
