"""Registers this package's timetable with Airflow (the scheduler needs it to deserialize binance_etl)."""

from __future__ import annotations

from typing import ClassVar

from airflow.plugins_manager import AirflowPlugin

from binance_airflow.etl.timetable import HistoryThenDailyTimetable


class BinanceEtlPlugin(AirflowPlugin):
    name = "binance_etl"
    timetables: ClassVar[list[type]] = [HistoryThenDailyTimetable]
