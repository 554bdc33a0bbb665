"""Hourly close forecasts with prediction intervals, and their rolling-origin backtest (pure; no Airflow).

The model is statsforecast's AutoETS with a daily season (24 hours); its intervals come from the fitted
model at levels 80 and 95. The backtest refits at each origin on the history strictly before it, so no
forecast ever sees the hours it predicts, and scores against the naive forecast (the last value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS

HORIZON = 24
LEVELS = (80, 95)
SEASON = 24
MODEL = "AutoETS"
MIN_TRAIN = 7 * SEASON
TRAIN_WINDOW = 30 * 24  # hours of history each fit sees


@dataclass(frozen=True)
class Forecast:
    """Point forecasts and interval bounds for ``HORIZON`` hours after the origin, one entry per hour."""

    yhat: np.ndarray
    lo: dict[int, np.ndarray]
    hi: dict[int, np.ndarray]


def forecast(closes: Sequence[float]) -> Forecast:
    """Forecast the ``HORIZON`` closes that follow ``closes`` (hourly, oldest first, no gaps)."""
    if len(closes) < MIN_TRAIN:
        raise ValueError(f"{len(closes)} hourly closes are too few to forecast: at least {MIN_TRAIN} are needed")
    history = np.asarray(closes[-TRAIN_WINDOW:], dtype=float)
    frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(history)), "y": history})
    result = StatsForecast(models=[AutoETS(season_length=SEASON)], freq=1).forecast(
        df=frame, h=HORIZON, level=list(LEVELS)
    )
    return Forecast(
        yhat=result[MODEL].to_numpy(),
        lo={level: result[f"{MODEL}-lo-{level}"].to_numpy() for level in LEVELS},
        hi={level: result[f"{MODEL}-hi-{level}"].to_numpy() for level in LEVELS},
    )


def origins(length: int, folds: int) -> list[int]:
    """Backtest origins: indexes where a forecast starts, the last ``folds`` whole horizons of the series.

    The forecast made at origin ``o`` is fitted on ``series[:o]`` and scored on ``series[o:o + HORIZON]``.
    """
    first = length - folds * HORIZON
    if first < MIN_TRAIN:
        raise ValueError(f"{length} hours cannot hold {folds} folds of {HORIZON} after {MIN_TRAIN} hours of history")
    return [first + fold * HORIZON for fold in range(folds)]


@dataclass(frozen=True)
class Fold:
    """One backtest forecast: made at ``origin`` from the hours before it, with the hours it predicted."""

    origin: int
    last_seen: float  # the naive forecast: the last close before the origin
    forecast: Forecast
    actual: np.ndarray


def folds(closes: Sequence[float], count: int) -> list[Fold]:
    """The ``count`` rolling-origin forecasts over the end of ``closes``, each fitted on ``closes[:origin]``."""
    series = np.asarray(closes, dtype=float)
    return [
        Fold(origin, float(series[origin - 1]), forecast(series[:origin]), series[origin : origin + HORIZON])
        for origin in origins(len(series), count)
    ]


@dataclass(frozen=True)
class Metrics:
    folds: int
    mase: float  # mean absolute error relative to the naive (last value) forecast's, on the same hours
    mape: float  # mean absolute percentage error, in percent
    coverage: dict[int, float]  # share of actual closes inside each interval


def score(made: Sequence[Fold]) -> Metrics:
    """Accuracy and interval coverage of backtest folds."""
    errors = np.concatenate([np.abs(f.actual - f.forecast.yhat) for f in made])
    naive = np.concatenate([np.abs(f.actual - f.last_seen) for f in made])
    actual = np.concatenate([f.actual for f in made])
    coverage = {
        level: float(
            np.mean(
                np.concatenate([(f.forecast.lo[level] <= f.actual) & (f.actual <= f.forecast.hi[level]) for f in made])
            )
        )
        for level in LEVELS
    }
    return Metrics(
        len(made), float(errors.mean() / naive.mean()), float(np.mean(errors / np.abs(actual)) * 100), coverage
    )
