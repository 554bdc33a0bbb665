"""The run report's view of task states: Airflow keys mapped instances ``<task_id>_<map index>``."""

from __future__ import annotations

from binance_airflow.etl.report import per_task

TASKS = {"plan", "klines.extract_klines", "klines.load_klines", "load_fact_kline", "extract_ticker"}


def test_a_mapped_task_is_reported_once_by_its_id_and_failed_if_any_instance_failed():
    instances = {
        "plan": "success",
        "klines.extract_klines_0": "success",
        "klines.extract_klines_1": "success",
        "klines.load_klines_0": "success",
        "klines.load_klines_1": "failed",
        "klines.load_klines_2": "upstream_failed",
        "load_fact_kline": "upstream_failed",
        "extract_ticker": "skipped",
    }
    assert per_task(instances, TASKS) == {
        "plan": "success",
        "klines.extract_klines": "success",
        "klines.load_klines": "failed",
        "load_fact_kline": "upstream_failed",
        "extract_ticker": "skipped",
    }


def test_an_upstream_failure_among_mapped_instances_is_not_hidden_by_their_successes():
    instances = {
        "klines.load_klines_0": "success",
        "klines.load_klines_1": "upstream_failed",
        "klines.load_klines_2": "success",
    }
    assert per_task(instances, TASKS) == {"klines.load_klines": "upstream_failed"}
