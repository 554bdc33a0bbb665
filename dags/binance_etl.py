"""binance_etl: Binance spot market and account data into the MySQL star schema (the old Talend "Main" job).

ping sensor → extract exchangeInfo / 24hr ticker / account / klines per symbol (mapped) → transforms
writing staging CSVs (mapped) → bulk upserts into dim_symbol, dim_date, fact_kline, fact_ticker_24hr,
fact_balance → data-quality gates on what each load wrote (common.sql check operators) → a notification with
rows per table, rejects and failed tasks or checks, posted to the `binance_notify` webhook when defined.
Each load emits its table's Asset, so analytics DAGs can be scheduled on the warehouse.

A scheduled run covers its data interval: catchup runs one whole past year or month at a time, then one
day per run (HistoryThenDailyTimetable). A manual run covers the `start`/`end` params when given,
otherwise the UTC day before its logical date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from binance_airflow import etl_steps as steps
from binance_airflow.assets import table_asset
from binance_airflow.dag_defaults import default_args
from binance_airflow.hook import BinanceHook
from binance_airflow.notify import notify_run
from binance_airflow.quality import GATES, MACROS, quality_gate
from binance_airflow.schema_tasks import warehouse_schema
from binance_airflow.sensor import BinanceApiSensor
from binance_airflow.timetable import HistoryThenDailyTimetable
from include import settings
from include.intervals import INTERVALS
from include.run_window import resolve


@dag(
    dag_id="binance_etl",
    schedule=HistoryThenDailyTimetable(),
    start_date=settings.START_DATE,
    catchup=settings.CATCHUP,
    max_active_runs=2,
    template_searchpath=[str(settings.SQL_DIR)],
    user_defined_macros=MACROS,
    default_args=default_args(),
    params={
        "symbols": Param(
            settings.DEFAULT_SYMBOLS,
            type="array",
            items={"type": "string"},
            minItems=1,
            description="Binance spot symbols, one per line (e.g. BTCUSDT)",
        ),
        "interval": Param(settings.DEFAULT_INTERVAL, type="string", enum=list(INTERVALS), description="Kline interval"),
        "start": Param(
            None,
            type=["null", "string"],
            description="UTC ISO date or datetime, e.g. 2024-05-01. Empty: the run's data interval, "
            "or for a manual run the UTC day before its logical date",
        ),
        "end": Param(None, type=["null", "string"], description="UTC ISO date or datetime, exclusive; with start"),
    },
    doc_md=__doc__,
    tags=["binance", "warehouse"],
)
def binance_etl() -> None:
    binance_up = BinanceApiSensor(
        task_id="binance_up", binance_conn_id=settings.BINANCE_CONN_ID, poke_interval=30, timeout=600,
        mode="reschedule", doc_md="Waits until `/api/v3/ping` answers on the `binance_default` connection.",
    )  # fmt: skip

    @task(multiple_outputs=True)
    def plan(params: Any = None, data_interval_start: Any = None, data_interval_end: Any = None,
             logical_date: Any = None, run_id: Any = None) -> dict[str, Any]:  # fmt: skip
        """Validate params and fix the run's window and staging folder."""
        with fail_without_retry():
            window = resolve(params, data_interval_start, data_interval_end, logical_date)
        return {"window": window.as_dict(), "folder": str(steps.run_dir(run_id))}

    @task
    def extract_exchange_info(window: dict[str, Any], folder: str) -> list[dict[str, Any]]:
        """exchangeInfo for the run's symbols; fails at once naming any symbol Binance does not list."""
        with fail_without_retry():
            return steps.extract_exchange_info(window, Path(folder), BinanceHook(settings.BINANCE_CONN_ID))

    @task
    def extract_ticker(window: dict[str, Any], folder: str) -> str:
        """24hr ticker of all the run's symbols in one call (recent windows only)."""
        path = steps.extract_ticker(window, Path(folder), BinanceHook(settings.BINANCE_CONN_ID))
        return skip_if_none(path, "24hr ticker not captured for a historical window")

    @task
    def extract_account(window: dict[str, Any], folder: str) -> str:
        """SIGNED account balances; skipped without an API key or for historical windows."""
        path = steps.extract_account(window, Path(folder), BinanceHook(settings.BINANCE_CONN_ID))
        return skip_if_none(path, "balances skipped (no API key on the connection, or a historical window)")

    # Mapped tasks do not take doc_md from their docstring, so it is given explicitly.
    @task(max_active_tis_per_dagrun=4, doc_md="One symbol's candles as raw chunk files: archives for whole "
          "past months/days, REST otherwise.")  # fmt: skip
    def extract_klines(symbol: str, weight_limit: int, window: dict[str, Any], folder: str) -> dict[str, Any]:
        hook = BinanceHook(settings.BINANCE_CONN_ID, weight_limit=weight_limit)
        return steps.extract_klines(window, symbol, Path(folder), hook)

    @task(doc_md="Validate and deduplicate one symbol's candles into staging CSVs; invalid rows to a rejects CSV.")
    def transform_klines(extracted: dict[str, Any], window: dict[str, Any], folder: str) -> dict[str, Any]:
        return steps.transform_klines(window, Path(folder), extracted, int(datetime.now(UTC).timestamp() * 1000))

    @task
    def transform_symbols(folder: str) -> dict[str, Any]:
        """dim_symbol rows from exchangeInfo."""
        return steps.transform_symbols(Path(folder))

    @task
    def transform_dates(window: dict[str, Any], folder: str) -> dict[str, Any]:
        """dim_date rows, one per UTC hour of the window."""
        return steps.transform_dates(window, Path(folder))

    @task
    def transform_ticker(window: dict[str, Any], folder: str, raw: str) -> dict[str, Any]:
        """fact_ticker_24hr rows, stamped with the window's end."""
        return steps.transform_ticker(window, Path(folder), raw)

    @task
    def transform_balances(window: dict[str, Any], folder: str, raw: str) -> dict[str, Any]:
        """fact_balance rows (non-zero balances), stamped with the window's end."""
        return steps.transform_balances(window, Path(folder), raw)

    def load(table: str) -> Any:
        """A task upserting one staged CSV into ``table``."""

        @task(task_id=f"load_{table}", outlets=[table_asset(table)])
        def load_table(staged: dict[str, Any], run_id: Any = None) -> dict[str, Any]:
            """Bulk upsert of the staged CSV (LOAD DATA LOCAL INFILE) in one transaction."""
            return steps.load_table(table, staged, run_id)

        return load_table

    @task(outlets=[table_asset("fact_kline")])
    def load_fact_kline(staged: list[dict[str, Any]], run_id: Any = None) -> dict[str, Any]:
        """Bulk upsert of every kline staging CSV, one transaction each, and the run's rejects."""
        return steps.load_klines(staged[:], run_id)  # a slice: iterating probes past the end and logs an error

    @task(trigger_rule="all_done", retries=0, on_failure_callback=None)
    def notify(folder: str, **context: Any) -> dict[str, Any]:
        """Report rows per table, rejects and failed tasks or checks (the old tMessageBox); clean staging."""
        return notify_run(context, Path(folder), LOAD_TASKS)

    run = plan()
    window, folder = run["window"], run["folder"]
    schema = warehouse_schema()
    info = extract_exchange_info(window, folder)
    binance_up >> [run, info]
    raw_klines = extract_klines.partial(window=window, folder=folder).expand_kwargs(info)
    staged_klines = transform_klines.partial(window=window, folder=folder).expand(extracted=raw_klines)
    symbols = transform_symbols(folder)
    info >> symbols
    loads = {
        "dim_symbol": load("dim_symbol")(symbols),
        "dim_date": load("dim_date")(transform_dates(window, folder)),
        "fact_kline": load_fact_kline(staged_klines),
        "fact_ticker_24hr": load("fact_ticker_24hr")(transform_ticker(window, folder, extract_ticker(window, folder))),
        "fact_balance": load("fact_balance")(transform_balances(window, folder, extract_account(window, folder))),
    }
    schema >> [loads["dim_symbol"], loads["dim_date"], loads["fact_balance"]]
    [loads["dim_symbol"], loads["dim_date"]] >> loads["fact_kline"]
    loads["dim_symbol"] >> loads["fact_ticker_24hr"]
    checks = []
    for table, loaded in loads.items():
        if table in GATES:
            gate = quality_gate(table)
            loaded >> gate
            checks += gate
    [*loads.values(), *checks] >> notify(folder)


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """Bad input (ValueError) fails the task at once: retrying cannot fix it."""
    try:
        yield
    except ValueError as err:
        raise AirflowFailException(str(err)) from err


def skip_if_none(path: str | None, reason: str) -> str:
    """``path``, or skip the task with ``reason`` when the step captured nothing."""
    if path is None:
        raise AirflowSkipException(reason)
    return path


LOAD_TASKS = ["load_dim_symbol", "load_dim_date", "load_fact_kline", "load_fact_ticker_24hr", "load_fact_balance"]

binance_etl()
