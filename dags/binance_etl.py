"""binance_etl: Binance spot market and account data into the MySQL star schema (the old Talend "Main" job).

extract (ping sensor, then exchangeInfo, 24hr ticker, account and klines per symbol) → transform (validated
staging CSVs, rejects kept with their reason) → load (transactional bulk upserts into dim_date, dim_symbol,
fact_kline, fact_ticker_24hr, fact_balance) → gate (fact_kline reconciled with Binance itself, then
common.sql checks on what each load wrote) → publish (each table's Asset, only once its gates passed and
only when the run changed it) → notify (rows per table, healed candles, exchange outages, failures; posted
to the `binance_notify` webhook when defined).

A scheduled run loads the candles that closed in its period: catchup runs one whole past year or month at a
time, then one day per run (HistoryThenDailyTimetable); a backfill covers exactly the days asked for. A
manual run covers the `start`/`end` params by open time when given, otherwise the UTC day before its
logical date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from binance_airflow.binance.hook import BinanceHook
from binance_airflow.binance.sensor import BinanceApiSensor
from binance_airflow.etl import reconcile, steps
from binance_airflow.etl.dag_defaults import KLINE_TIMEOUT, default_args
from binance_airflow.etl.notify import notify_run
from binance_airflow.etl.run_folder import run_dir
from binance_airflow.etl.timetable import HistoryThenDailyTimetable
from binance_airflow.warehouse.checks import MACROS, quality_gate
from binance_airflow.warehouse.publish import publish
from binance_airflow.warehouse.schema import warehouse_schema
from binance_airflow.warehouse.tables import ACCOUNT, EXCHANGE_INFO, LOADED, TABLES, TICKER, WINDOW, Table
from include import settings, task_ids
from include.intervals import INTERVALS
from include.run_window import RunWindow, resolve
from include.symbol_selection import label

KLINE = TABLES["fact_kline"]  # staged by the mapped ``klines`` group; every other staged table by its transform
STAGED = [table for table in LOADED if table.transform]


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
            description="Binance spot symbols, one per line (e.g. BTCUSDT), or patterns: *USDT is every "
            "TRADING symbol quoted in USDT when the run starts",
        ),
        "interval": Param(settings.DEFAULT_INTERVAL, type="string", enum=list(INTERVALS), description="Kline interval"),
        "start": Param(
            None,
            type=["null", "string"],
            description="UTC ISO date or datetime, e.g. 2024-05-01: load the candles opening from here. Empty: "
            "the candles that closed in the run's period (for a manual run, the UTC day before its logical date)",
        ),
        "end": Param(None, type=["null", "string"], description="UTC ISO date or datetime, exclusive; with start"),
    },
    doc_md=__doc__,
    tags=["binance", "warehouse"],
)
def binance_etl() -> None:
    # -- plan: is Binance up, what does this run cover ---------------------------------------------------
    binance_up = BinanceApiSensor(
        task_id="binance_up",
        binance_conn_id=settings.BINANCE_CONN_ID,
        poke_interval=settings.PING_INTERVAL_S,
        timeout=600,
        mode="reschedule",  # not deferrable: frees the slot between pokes; deferrable: waits in the triggerer
        doc_md="Waits until `/api/v3/ping` answers on the `binance_default` connection (in the triggerer when "
        "deferrable, the default of `[operators] default_deferrable`).",
    )

    @task(task_id=task_ids.PLAN, multiple_outputs=True)
    def plan(
        params: Any = None,
        data_interval_start: Any = None,
        data_interval_end: Any = None,
        logical_date: Any = None,
        run_id: Any = None,
    ) -> dict[str, Any]:
        """Validate params, resolve symbol patterns (`*USDT`) against exchangeInfo, fix the window and staging
        folder."""
        with fail_without_retry():
            window = resolve(params, data_interval_start, data_interval_end, logical_date)
            folder = run_dir(run_id)
            window = steps.resolve_symbols(window, folder, binance())
        return {"window": window.as_dict(), "folder": str(folder)}

    # -- extract (Getting Data) --------------------------------------------------------------------------
    @task
    def extract_exchange_info(window: dict[str, Any], folder: str) -> list[dict[str, Any]]:
        """exchangeInfo for the run's symbols; fails at once naming any symbol Binance does not list."""
        with fail_without_retry():
            return steps.extract_exchange_info(RunWindow.from_dict(window), Path(folder), binance())

    @task
    def extract_ticker(window: dict[str, Any], folder: str) -> str:
        """24hr ticker of all the run's symbols in one call (recent windows only)."""
        path = steps.extract_ticker(RunWindow.from_dict(window), Path(folder), binance())
        return skip_if_none(path, "24hr ticker not captured for a historical window")

    @task
    def extract_account(window: dict[str, Any], folder: str) -> str:
        """SIGNED balances of every account (BINANCE_ETL_ACCOUNTS); skipped without an API key or for historical
        windows."""
        hooks = [BinanceHook(conn_id) for conn_id in settings.ACCOUNTS]
        path = steps.extract_account(RunWindow.from_dict(window), Path(folder), hooks)
        return skip_if_none(path, "balances skipped (no API key on the accounts' connections, or a historical window)")

    # -- klines: extract → transform → load, batch by batch -------------------------------------------------
    # A mapped task group over batches of symbols (at most 64 per run, each instance labelled with its
    # symbols). Depth first: when slots are scarce a ready load goes before a transform and a transform before
    # an extract (absolute priorities 3, 2, 1), so batches flow through instead of piling up in staging. Mapped
    # tasks do not take doc_md from their docstring, so it is given explicitly.
    @task(
        execution_timeout=KLINE_TIMEOUT,
        max_active_tis_per_dagrun=4,
        map_index_template="{{ batch_label }}",
        weight_rule="absolute",
        priority_weight=1,
        doc_md="A batch of symbols' candles as raw chunk files: archives for whole past months/days, REST otherwise.",
    )
    def extract_klines(
        symbols: list[str], weight_limit: int, label: str, window: dict[str, Any], folder: str
    ) -> list[dict[str, Any]]:
        get_current_context()["batch_label"] = label
        hook = binance(weight_limit=weight_limit)
        return steps.extract_klines(RunWindow.from_dict(window), symbols, Path(folder), hook)

    @task(
        execution_timeout=KLINE_TIMEOUT,
        map_index_template="{{ batch_label }}",
        weight_rule="absolute",
        priority_weight=2,
        doc_md="Validate and deduplicate a batch of symbols' candles into staging CSVs; invalid rows to a rejects CSV.",
    )
    def transform_klines(extracted: list[dict[str, Any]], window: dict[str, Any], folder: str) -> list[dict[str, Any]]:
        get_current_context()["batch_label"] = label([item["symbol"] for item in extracted])
        return steps.transform_klines(RunWindow.from_dict(window), Path(folder), extracted, now_ms())

    @task(
        execution_timeout=KLINE_TIMEOUT,
        max_active_tis_per_dagrun=settings.KLINE_LOADS,
        map_index_template="{{ batch_label }}",
        weight_rule="absolute",
        priority_weight=3,
        doc_md="Bulk upsert of a batch's kline staging CSVs, one transaction each; `BINANCE_ETL_KLINE_LOADS` (2) "
        "batches at a time.",
    )
    def load_klines(staged: list[dict[str, Any]], run_id: Any = None) -> dict[str, Any]:
        get_current_context()["batch_label"] = label([item["symbol"] for item in staged])
        return {"loaded": steps.load_kline_batch(staged, run_id), "staged": staged}

    @task_group(group_id="klines")
    def klines(symbols: list[str], weight_limit: int, label: str, window: dict[str, Any], folder: str) -> Any:
        """Each batch of symbols is extracted, transformed and loaded on its own, so one batch loads while the
        next ones are still being extracted and transformed."""
        extracted = extract_klines(symbols, weight_limit, label, window, folder)
        return load_klines(transform_klines(extracted, window, folder))

    # -- transform (Transformation, into the staging area) -------------------------------------------------
    def transform(table: Table) -> Any:
        """A task staging ``table``'s rows by its registry transform, from the raw capture it is staged from."""

        @task(
            task_id=task_ids.transform(table.name),
            doc_md=f"`{table.name}` rows from the run's `{table.staged_from}` into a staging CSV.",
        )
        def transform_table(window: dict[str, Any], folder: str) -> dict[str, Any]:
            return steps.stage_table(table, RunWindow.from_dict(window), Path(folder))

        return transform_table

    # -- load (Main) ------------------------------------------------------------------------------------
    def load(table: Table) -> Any:
        """A task upserting one staged CSV into ``table``."""

        @task(task_id=task_ids.load(table.name))
        def load_table(staged: dict[str, Any], run_id: Any = None) -> dict[str, Any]:
            """Bulk upsert of the staged CSV (LOAD DATA LOCAL INFILE) in one transaction."""
            return steps.load_table(table.name, staged, run_id)

        return load_table

    @task(task_id=task_ids.load(KLINE.name), execution_timeout=KLINE_TIMEOUT)
    def load_fact_kline(pulled: Any, run_id: Any = None) -> dict[str, Any]:
        """fact_kline's load for the run: the batches' upserts totalled, the run's rejects recorded."""
        batches = steps.every_batch(pulled)
        return steps.finish_kline_load([b["loaded"] for b in batches], steps.per_symbol(batches), run_id)

    # -- gate ---------------------------------------------------------------------------------------------
    @task(task_id=task_ids.RECONCILE, execution_timeout=KLINE_TIMEOUT)
    def reconcile_fact_kline(
        window: dict[str, Any], folder: str, batches: Any, run_id: Any = None, ti: Any = None
    ) -> dict[str, Any]:
        """Compare fact_kline with Binance: reload candles it serves again, record exchange outages in
        kline_gap, fail naming any candle the warehouse lacks though Binance has it. Returns the healing load;
        the whole report (also when failing) is the XCom ``report``."""
        staged = steps.per_symbol(steps.every_batch(batches))
        outcome = reconcile.reconcile(RunWindow.from_dict(window), staged, Path(folder), run_id, binance(), now_ms())
        ti.xcom_push(key="report", value=outcome)
        if outcome["unexplained"]:
            raise AirflowFailException(reconcile.failure(outcome))
        return outcome["heal"]

    # -- notify ---------------------------------------------------------------------------------------------
    @task(task_id=task_ids.NOTIFY, trigger_rule="all_done", retries=0, on_failure_callback=None)
    def notify(folder: str | None, **context: Any) -> dict[str, Any]:
        """Report rows per table, healed candles, outages, failed tasks or checks (the old tMessageBox)."""
        return notify_run(context, Path(folder) if folder else None)

    # The diagram: extract → transform → load → gate → publish → notify, each table's tasks from the registry.
    run = plan()
    window, folder = run["window"], run["folder"]
    info = extract_exchange_info(window, folder)
    binance_up >> [run, info]
    captured = {
        WINDOW: run,
        EXCHANGE_INFO: info,
        TICKER: extract_ticker(window, folder),
        ACCOUNT: extract_account(window, folder),
    }
    # transform: the klines group batch by batch, and one task per other staged table, from its raw capture
    staged = {KLINE.name: klines.partial(window=window, folder=folder).expand_kwargs(info)}
    for table in STAGED:
        staged[table.name] = transform(table)(window, folder)
        captured[table.staged_from] >> staged[table.name]
    # load: after the schema, and after the tables the table's foreign keys name
    loads = {t.name: (load_fact_kline if t is KLINE else load(t))(staged[t.name]) for t in LOADED}
    schema = warehouse_schema()
    for table in LOADED:
        writes = staged[table.name] if table is KLINE else loads[table.name]
        ([loads[name] for name in table.references] or schema) >> writes
    # gate (fact_kline reconciled with Binance first) → publish → notify
    reconciled = reconcile_fact_kline(window, folder, staged[KLINE.name])
    loads[KLINE.name] >> reconciled
    ends = []
    for table in LOADED:
        checked = reconciled if table is KLINE else loads[table.name]
        gates = [quality_gate(table.name, table.gate)] if table.gate else []
        checked >> gates
        published = publish(table)([loads[table.name], *([reconciled] if table is KLINE else [])])
        (gates or [checked]) >> published
        ends += [*gates, published]
    [*loads.values(), reconciled, *ends] >> notify(folder)


def binance(**options: Any) -> BinanceHook:
    """The hook on the Binance connection (``binance_default``)."""
    return BinanceHook(settings.BINANCE_CONN_ID, **options)


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


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


binance_etl()
