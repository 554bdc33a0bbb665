"""Rolling-origin backtest of the forecaster on the bundled real hourly closes; prints the metrics table.

.venv/bin/python -m benchmarks.forecast_metrics [--folds 30]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from benchmarks.common import parse_args
from include import forecasting

SERIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "klines" / "normalized"
FILES = {"ADAUSDT 1h, 2023-11-01 → 2023-12-30 (real)": SERIES / "ADAUSDT-1h-2023-11-01_2023-12-30.ohlcv-only.csv"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=30, help="days of rolling origins (24 h each)")
    args = parse_args(parser, {"folds": 2})
    print(
        f"model {forecasting.MODEL} (season {forecasting.SEASON} h, last {forecasting.TRAIN_WINDOW} h per fit), "
        f"horizon {forecasting.HORIZON} h, {args.folds} origins one day apart"
    )
    print("| series | hours | MASE vs naive | MAPE % | 80 % interval coverage | 95 % interval coverage | fit s |")
    print("|---|---|---|---|---|---|---|")
    for name, path in FILES.items():
        with path.open() as handle:
            closes = [float(row[4]) for row in csv.reader(handle)]
        started = time.perf_counter()
        metrics = forecasting.score(forecasting.folds(closes, args.folds))
        seconds = time.perf_counter() - started
        print(
            f"| {name} | {len(closes)} | {metrics.mase:.3f} | {metrics.mape:.2f} | {metrics.coverage[80]:.1%} | "
            f"{metrics.coverage[95]:.1%} | {seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
