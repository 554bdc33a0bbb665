"""``python -m binance_airflow.stream [--seconds N]``: run the stream service (until SIGTERM, or for N seconds)."""

from __future__ import annotations

import argparse
import asyncio
import os

# Every heal runs a few SQL statements per series; the hook would log each one at INFO.
QUIET = "airflow.task.hooks.airflow.providers.mysql=WARNING,airflow.task.hooks.airflow.providers.common=WARNING"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m binance_airflow.stream", description=__doc__)
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long (default: run until SIGTERM)")
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW__LOGGING__NAMESPACE_LEVELS", QUIET)
    from binance_airflow.stream.service import StreamService  # after the logging settings: importing Airflow reads them

    asyncio.run(StreamService().run(args.seconds))


if __name__ == "__main__":
    main()
