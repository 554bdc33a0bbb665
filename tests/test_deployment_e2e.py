"""Operating binance_etl as users do: a real deployment (api-server, scheduler, dag-processor, two Celery
workers on PostgreSQL + Redis) driven through the UI in headless Chromium and through the REST API."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import MySQLdb
import pytest

from harness.airflow_stack import (
    ACCOUNT_B,
    ANALYST,
    ANALYST_PASSWORD,
    PASSWORD,
    USER,
    VIEWER,
    VIEWER_PASSWORD,
    AirflowStack,
)
from include import settings
from include.transforms.archive import path as archive_path
from tests.conftest import ACCOUNT_B as ACCOUNT_B_KEYS
from tests.conftest import API_KEY, API_SECRET, ROOT, WAREHOUSE_DB, Sim, connection_uri
from tests.dag_runs import assert_exact_candles, expected, query

pytestmark = pytest.mark.deployment
CHROMIUM = "/usr/bin/chromium"
WORKERS = ("worker-a", "worker-b")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "artifacts")) / "ui"


@pytest.fixture(scope="module")
def warehouse_users() -> Iterator[dict[str, str]]:
    """The deployment reaches the warehouse as its writer and its reader (created by warehouse_roles as the
    administrator), never as root: the ETL, the forecast and the dashboard work within those rights."""
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    from binance_airflow.warehouse.roles import Login, ensure_users
    from binance_airflow.warehouse.schema import create_warehouse

    admin = json.loads(os.environ["AIRFLOW_CONN_BINANCE_WAREHOUSE"])
    logins = {
        "writer": Login("bdw_stack_writer", secrets.token_hex(12)),
        "reader": Login("bdw_stack_reader", secrets.token_hex(12)),
    }
    create_warehouse(WAREHOUSE_DB)
    ensure_users(
        MySqlHook(mysql_conn_id=settings.WAREHOUSE_CONN_ID, schema=WAREHOUSE_DB),
        WAREHOUSE_DB,
        logins["writer"],
        logins["reader"],
    )
    yield {
        f"AIRFLOW_CONN_{conn.upper()}": json.dumps({**admin, "login": login.user, "password": login.password})
        for conn, login in (
            (settings.WAREHOUSE_CONN_ID, logins["writer"]),
            (settings.WAREHOUSE_READER_CONN_ID, logins["reader"]),
        )
    }
    root = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", autocommit=True)
    for login in logins.values():
        root.cursor().execute(f"DROP USER IF EXISTS '{login.user}'@'%'")
    root.close()


@pytest.fixture(scope="module")
def stack(
    sim_url: str, warehouse_users: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowStack]:
    connections = {
        "AIRFLOW_CONN_BINANCE_DEFAULT": connection_uri(sim_url, archives=True),
        ACCOUNT_B: connection_uri(sim_url, key=ACCOUNT_B_KEYS[:2]),
        **warehouse_users,
    }
    deployment = AirflowStack(tmp_path_factory.mktemp("stack"), connections, WORKERS, "airflow_stack_test")
    deployment.env["BINANCE_ETL_ACCOUNTS"] = "binance_default,binance_account_b"  # two accounts' balances
    lineage = {"type": "file", "log_file_path": str(deployment.home / "lineage.jsonl"), "append": True}
    deployment.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(lineage)  # OpenLineage events, to a file
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()


def balance_snapshots(warehouse: MySQLdb.Connection) -> int:
    """How many account snapshots the warehouse holds, per account (the dashboard's portfolio points)."""
    return query(warehouse, f"SELECT COUNT(DISTINCT account, snapshot_time) FROM {WAREHOUSE_DB}.fact_balance")[0][0]


def sign_in(page: Any, stack: AirflowStack, user: str = USER, password: str = PASSWORD) -> None:
    """Through the simple auth manager's login page, as a user would."""
    page.goto(stack.url + "/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(stack.url + "/")


def test_trigger_form_in_a_real_browser_runs_the_dag_and_shows_its_log(
    stack: AirflowStack, warehouse: MySQLdb.Connection
):
    """Log in, fill the trigger form (symbols, interval, explicit range), trigger, wait for success, read a log."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    symbols, start, end = ["BTCUSDT", "ETHUSDT", "BNBUSDT"], "2024-05-01", "2024-05-03"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(30_000)
        sign_in(page, stack)

        page.goto(stack.url + "/dags/binance_etl")
        page.get_by_role("button", name="Trigger").first.click()
        form = page.get_by_role("dialog")
        form.locator("#element_symbols").fill("\n".join(symbols))
        form.locator("#element_interval").click()
        page.get_by_role("option", name="15m", exact=True).click()
        form.locator("#element_start").fill(start)
        form.locator("#element_end").fill(end)
        form.screenshot(path=ARTIFACTS / "trigger_form.png")
        form.get_by_role("button", name="Trigger").click()

        page.wait_for_url("**/dags/binance_etl/runs/**")
        run_id = unquote(page.url.rsplit("/runs/", 1)[1].split("/")[0])
        assert stack.wait_for_run(run_id) == "success", stack.logs()
        page.reload()
        header = page.locator("h2", has_text=run_id).locator("xpath=..")
        expect(header).to_contain_text("Success", timeout=30_000)
        page.screenshot(path=ARTIFACTS / "run_success.png")

        page.goto(f"{stack.url}/dags/binance_etl/runs/{quote(run_id)}/tasks/notify")
        expect(page.get_by_text(f"binance_etl {run_id}: SUCCESS")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "notify_log.png")
        browser.close()

    conf = stack.api("GET", f"/api/v2/dags/binance_etl/dagRuns/{quote(run_id)}")["conf"]
    assert conf == {"symbols": symbols, "interval": "15m", "start": start, "end": end}
    for symbol in symbols:
        got = assert_exact_candles(
            warehouse, symbol, "15m", datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 3, tzinfo=UTC)
        )
        assert got == 2 * 96


def lineage_events(stack: AirflowStack) -> dict[str, dict[str, list[dict]]]:
    """The first binance_etl run's tasks and their datasets (``job name → {"inputs", "outputs"}``), from the COMPLETE
    events the workers wrote (a mapped task's instances together)."""
    runs: dict[str, dict[str, dict[str, list[dict]]]] = {}
    for line in (stack.home / "lineage.jsonl").read_text().splitlines():
        event = json.loads(line)
        name = event.get("job", {}).get("name", "")
        run_id = event.get("run", {}).get("facets", {}).get("airflow", {}).get("dagRun", {}).get("run_id")
        if event.get("eventType") == "COMPLETE" and name.startswith("binance_etl.") and run_id:
            job = runs.setdefault(run_id, {}).setdefault(name, {"inputs": [], "outputs": []})
            job["inputs"] += event.get("inputs", [])
            job["outputs"] += event.get("outputs", [])
    return runs[min(runs)]


def test_the_runs_lineage_names_binance_and_the_tables_and_connects_the_klines_to_the_views(
    stack: AirflowStack, sim_url: str
):
    """OpenLineage events of the run above (the provider's file transport): the extracts read Binance's klines
    (its archive folders here, the REST endpoint for what archives lack), the loads write the tables (schema,
    rows written), and the graph from the klines read reaches every view built on the candles, view by view
    through its column lineage."""
    jobs = lineage_events(stack)
    warehouse = "mysql://127.0.0.1:3306"
    read = {(d["namespace"], d["name"]) for d in jobs["binance_etl.klines.extract_klines"]["inputs"]}
    klines = {(ns, name) for ns, name in read if ns == sim_url and (name == "/api/v3/klines" or "/klines/" in name)}
    assert klines, read
    assert (sim_url, "/api/v3/exchangeInfo") in {
        (d["namespace"], d["name"]) for d in jobs["binance_etl.extract_exchange_info"]["inputs"]
    }
    loaded = [d for d in jobs["binance_etl.klines.load_klines"]["outputs"] if d["name"] == f"{WAREHOUSE_DB}.fact_kline"]
    assert {d["namespace"] for d in loaded} == {warehouse}
    assert sum(d["outputFacets"]["outputStatistics"]["rowCount"] for d in loaded) == 3 * 2 * 96
    assert {"symbol", "interval", "open_time", "close"} <= {f["name"] for f in loaded[0]["facets"]["schema"]["fields"]}

    edges: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for job in jobs.values():
        for output in job["outputs"]:
            columns = output.get("facets", {}).get("columnLineage", {}).get("fields", {})
            sources = {(f["namespace"], f["name"]) for c in columns.values() for f in c["inputFields"]} or {
                (d["namespace"], d["name"]) for d in job["inputs"]
            }
            for source in sources:
                edges.setdefault(source, set()).add((output["namespace"], output["name"]))
    reached, frontier = set(), list(klines)
    while frontier:
        if (node := frontier.pop()) not in reached:
            reached.add(node)
            frontier += edges.get(node, ())
    kline_views = ("v_daily_ohlcv", "v_monthly_returns", "v_price_change", "v_top_worst", "v_kline_outages")
    kline_views += ("v_kline_coverage",)
    unreached = {f"{WAREHOUSE_DB}.{view}" for view in kline_views} - {n for ns, n in reached if ns == warehouse}
    assert not unreached, sorted(reached)


def test_the_binance_connection_form_labels_its_fields_and_the_hook_reads_what_it_saved(
    stack: AirflowStack, sim_url: str, monkeypatch: pytest.MonkeyPatch
):
    """The ``binance`` connection type (the binance-airflow distribution's entry point) in the UI's form: the key
    pair, REST root, archive root and stream URL under their own labels; what it saves drives the hook."""
    from playwright.sync_api import expect, sync_playwright

    from binance_airflow.binance.archives import archive_root
    from binance_airflow.binance.hook import BinanceHook
    from binance_airflow.stream.config import stream_url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(30_000)
        sign_in(page, stack)
        page.goto(stack.url + "/connections")
        page.get_by_role("button", name="Add Connection").click()
        form = page.get_by_role("dialog")
        form.get_by_label("Connection ID").fill("binance_from_the_form")
        form.get_by_role("combobox").first.click()
        page.keyboard.type("Binance")
        page.keyboard.press("Enter")
        form.get_by_label("REST base URL").fill(sim_url)
        form.get_by_label("API key").fill(API_KEY)
        form.get_by_label("API secret").fill(API_SECRET)
        form.screenshot(path=ARTIFACTS / "binance_connection_form.png")
        form.get_by_text("Extra Fields", exact=True).click()
        expect(form.get_by_text("Archive root")).to_be_visible()
        form.locator("#element_stream_url").fill("ws://127.0.0.1:9/")
        form.screenshot(path=ARTIFACTS / "binance_connection_extra_fields.png")
        form.get_by_role("button", name="Save").click()
        expect(page.get_by_text("binance_from_the_form")).to_be_visible()
        browser.close()

    saved = stack.api("GET", "/api/v2/connections/binance_from_the_form")
    assert (saved["conn_type"], saved["host"], saved["login"]) == ("binance", sim_url, API_KEY)
    extra = json.loads(saved["extra"])
    assert extra == {"archive_url": None, "stream_url": "ws://127.0.0.1:9/"}  # an empty field is saved as null
    conn = {"conn_type": "binance", "host": sim_url, "login": API_KEY, "password": API_SECRET, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_FROM_THE_FORM", json.dumps(conn))
    hook = BinanceHook("binance_from_the_form")
    assert {b["asset"] for b in hook.account()["balances"]} == {"BTC", "ETH", "USDT"}  # signed with the key pair
    assert archive_root(hook.connection.host, hook.connection.extra_dejson) is None  # not Binance: REST only
    assert stream_url(hook.connection.extra_dejson) == "ws://127.0.0.1:9"


def test_celery_workers_share_one_runs_mapped_tasks(stack: AirflowStack, sim_url: str, warehouse: MySQLdb.Connection):
    """Four symbols extracted at once with slow answers: two workers of concurrency 2 must both take some. Each
    batch flows extract → transform → load on its own: with LTCUSDT's archive file 25 s late, other batches
    are loaded while LTCUSDT is still being extracted."""
    sim = Sim(sim_url)
    sim.configure(latency_ms=1500)
    sim.fault("delay", path=archive_path("LTCUSDT", "1h", "daily", "2024-05-01"), seconds=25)
    try:
        conf = {
            "symbols": ["BTCUSDT", "ETHUSDT", "BNBUSDT", "LTCUSDT"],
            "interval": "1h",
            "start": "2024-05-01",
            "end": "2024-05-02",
        }
        run = stack.api("POST", "/api/v2/dags/binance_etl/dagRuns", {"logical_date": None, "conf": conf})
        assert stack.wait_for_run(run["dag_run_id"]) == "success", stack.logs()
    finally:
        sim.reset()
    instances = stack.task_instances(run["dag_run_id"])
    mapped = [ti for ti in instances if ti["task_id"].startswith("klines.")]
    assert len(mapped) == 12
    assert {ti["hostname"] for ti in mapped} == set(WORKERS)
    extracts = {ti["rendered_map_index"]: ti for ti in mapped if ti["task_id"] == "klines.extract_klines"}
    slow = extracts["LTCUSDT"]
    loaded = [ti["end_date"] for ti in mapped if ti["task_id"] == "klines.load_klines"]
    assert min(loaded) < slow["end_date"], "no batch was loaded while another was still being extracted"
    ran = [ti for ti in instances if ti["state"] != "skipped"]
    assert {ti["hostname"] for ti in ran} <= set(WORKERS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    where = sorted((ti["task_id"], ti["map_index"], ti["hostname"]) for ti in ran)
    (ARTIFACTS / "celery_hostnames.json").write_text(json.dumps(where, indent=1))


DAILY_SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"]


def forecast_started(stack: AirflowStack, before: set[str]) -> dict[str, Any]:
    """The binance_forecast run a load's fact_kline Asset starts: the first not in ``before``, within two minutes."""
    deadline = time.monotonic() + 120
    while not (started := [r for r in stack.runs("binance_forecast") if r["dag_run_id"] not in before]):
        assert time.monotonic() < deadline, "the fact_kline Asset did not trigger binance_forecast"
        time.sleep(2)
    return started[0]


def change(symbol: str, horizon: int, end: datetime) -> Decimal:
    """The % change of ``symbol``'s last daily close before ``end`` over ``horizon`` days, from the server's candles."""
    closes = {k[0]: Decimal(k[4]) for k in expected(symbol, "1d", end - timedelta(days=400), end)}
    last = max(closes)
    return (closes[last] / closes[last - horizon * 86_400_000] - 1) * 100


def load_with_the_steps(symbols: list[str], interval: str, start: datetime, end: datetime, folder: Path) -> None:
    """The candles of ``symbols`` in ``[start, end)`` through binance_etl's own steps, without a DAG run."""
    from binance_airflow.binance.hook import BinanceHook
    from binance_airflow.etl import steps
    from binance_airflow.warehouse.schema import create_warehouse
    from binance_airflow.warehouse.tables import TABLES
    from include.run_window import resolve

    create_warehouse()  # as the run's first tasks do
    params = {"symbols": symbols, "interval": interval, "start": start.isoformat(), "end": end.isoformat()}
    window, hook = resolve(params, None, None, None), BinanceHook()
    steps.extract_exchange_info(window, folder, hook)
    for table in ("dim_date", "dim_symbol"):
        steps.load_table(table, steps.stage_table(TABLES[table], window, folder), "panels")
    extracted = steps.extract_klines(window, symbols, folder, hook)
    steps.load_klines(steps.transform_klines(window, folder, extracted, int(time.time() * 1000)), "panels")


def test_a_load_triggers_the_forecast_and_the_dashboard_charts_the_warehouse(
    stack: AirflowStack, warehouse: MySQLdb.Connection, sim_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """A week of 1h candles: the fact_kline Asset starts binance_forecast, and the dashboard, opened from
    the UI's navigation, charts exactly what the warehouse holds."""
    from playwright.sync_api import expect, sync_playwright

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    conf = {
        "symbols": ["BTCUSDT", "ETHUSDT"],
        "interval": "1h",
        "start": (end - timedelta(days=8)).isoformat(),
        "end": end.isoformat(),
    }
    # 400 daily candles for the report's panels (four current pairs ranked over 30 and 365 days), loaded by the
    # ETL steps in this process: a DAG run of them is the other tests' business, and it would start a forecast too
    monkeypatch.setenv("AIRFLOW_CONN_BINANCE_DEFAULT", connection_uri(sim_url, archives=True))
    load_with_the_steps(DAILY_SYMBOLS, "1d", end - timedelta(days=400), end, tmp_path)
    forecasts_before = {run["dag_run_id"] for run in stack.runs("binance_forecast")}
    run = stack.api("POST", "/api/v2/dags/binance_etl/dagRuns", {"logical_date": None, "conf": conf})
    assert stack.wait_for_run(run["dag_run_id"]) == "success", stack.logs()
    triggered = forecast_started(stack, forecasts_before)
    assert triggered["run_type"] == "asset_triggered"
    assert stack.wait_for_run(triggered["dag_run_id"], dag_id="binance_forecast") == "success", stack.logs()

    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{stack.url}/binance-dashboard/api/series", timeout=10)
    assert anonymous.value.code == 401
    shown = query(
        warehouse,
        f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline WHERE symbol = 'BTCUSDT' AND `interval` = '1h' "
        f"AND open_time >= '{(end - timedelta(days=7)):%Y-%m-%d}'",
    )[0][0]
    assert shown == 7 * 24
    # One balance snapshot per account and recent run: this run's, and the stack's scheduled run's if the
    # session crossed midnight UTC (one may land while the dashboard is open: then either count is right).
    snapshots_before = balance_snapshots(warehouse)
    assert snapshots_before in (2, 4)  # two accounts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1900})
        page.set_default_timeout(30_000)
        sign_in(page, stack)
        page.get_by_role("link", name="Binance dashboard").first.click()
        page.wait_for_url("**/plugin/binance-dashboard")
        dashboard = page.frame_locator("iframe").first
        dashboard.locator("#series").select_option("BTCUSDT|1h")
        dashboard.locator("#controls button").click()
        expect(dashboard.locator("#candles")).to_have_attribute("data-points", str(shown))
        expect(dashboard.locator("#forecast")).to_have_attribute("data-points", "24")
        expect(dashboard.locator("#movers")).to_have_attribute("data-points", str(len(conf["symbols"])))  # the 1h run's
        expect(dashboard.locator("#portfolio")).to_have_attribute(
            "data-points", re.compile(f"^({snapshots_before}|{snapshots_before + 2})$")
        )
        # one line per account the admin may read (both): the auth manager decides account by account
        expect(dashboard.locator("#portfolio")).to_have_attribute("data-accounts", "binance_account_b,binance_default")
        traces = dashboard.locator("#candles").evaluate("chart => chart.data.map(trace => trace.type)")
        assert traces == ["candlestick", "bar"]  # Plotly drew a candlestick and its volume bars
        expect(dashboard.locator("#status")).to_have_text("")
        series, unexplained = query(
            warehouse, f"SELECT COUNT(*), COALESCE(SUM(unexplained), 0) FROM {WAREHOUSE_DB}.v_kline_coverage"
        )[0]
        expect(dashboard.locator("#coverage")).to_have_attribute("data-series", str(series))  # a row per series
        expect(dashboard.locator("#coverage")).to_have_attribute("data-unexplained", str(unexplained))
        # the report's panels over the daily series: two years chosen, 400 daily candles drawn, the cards' volume,
        # the top and worst pairs over 30 and 365 days as the server's own candles rank them
        dashboard.locator("#series").select_option("BTCUSDT|1d")
        dashboard.locator("#start").fill(f"{end - timedelta(days=730):%Y-%m-%d}")
        dashboard.locator("#end").fill(f"{end:%Y-%m-%d}")
        dashboard.locator("#controls button").click()
        expect(dashboard.locator("#candles")).to_have_attribute("data-points", "400")
        expect(dashboard.locator("#candles")).to_have_attribute("data-resolution", "1d")
        candles = expected("BTCUSDT", "1d", end - timedelta(days=400), end)
        chosen = f"1d {end - timedelta(days=730):%Y-%m-%d} {end:%Y-%m-%d}"
        expect(dashboard.locator("#cards")).to_have_attribute("data-range", chosen)
        volume = dashboard.locator("#cards").get_attribute("data-volume")
        assert float(volume) == pytest.approx(float(sum(Decimal(k[5]) for k in candles)))
        expect(dashboard.locator("#cards")).to_contain_text("Average price")
        for horizon in (30, 365):
            ranked = sorted(DAILY_SYMBOLS, key=lambda symbol: change(symbol, horizon, end), reverse=True)
            panel = dashboard.locator(f"#top-worst-{horizon}")
            expect(panel).to_have_attribute("data-points", str(len(DAILY_SYMBOLS)))
            expect(panel).to_have_attribute("data-top", ranked[0])
            expect(panel).to_have_attribute("data-worst", ranked[-1])
        expect(dashboard.locator("#status")).to_have_text("")
        page.screenshot(path=ARTIFACTS / "dashboard.png")
        # A viewer sees the market but not the account: the auth manager says who may read the balances.
        viewer = browser.new_context(viewport={"width": 1400, "height": 1300}).new_page()
        viewer.set_default_timeout(30_000)
        sign_in(viewer, stack, VIEWER, VIEWER_PASSWORD)
        viewer.goto(stack.url + "/plugin/binance-dashboard")
        hidden = viewer.frame_locator("iframe").first
        hidden.locator("#series").select_option("BTCUSDT|1h")
        hidden.locator("#controls button").click()
        expect(hidden.locator("#candles")).to_have_attribute("data-points", str(shown))
        expect(hidden.locator("#portfolio")).to_have_attribute("data-points", "0")
        expect(hidden.locator("#portfolio")).to_contain_text("Balances are hidden")
        # A viewer granted the second account's connection alone sees that account, and not the first
        analyst = browser.new_context(viewport={"width": 1400, "height": 1300}).new_page()
        analyst.set_default_timeout(30_000)
        sign_in(analyst, stack, ANALYST, ANALYST_PASSWORD)
        analyst.goto(stack.url + "/plugin/binance-dashboard")
        own = analyst.frame_locator("iframe").first
        expect(own.locator("#portfolio")).to_have_attribute("data-accounts", "binance_account_b")
        browser.close()
    portfolio = f"{stack.url}/binance-dashboard/api/portfolio"
    as_admin = {"Authorization": f"Bearer {stack.token()}"}
    with urllib.request.urlopen(urllib.request.Request(portfolio, headers=as_admin), timeout=10) as response:
        portfolio_points = len(json.loads(response.read()))
    assert snapshots_before <= portfolio_points <= balance_snapshots(warehouse)
    as_viewer = {"Authorization": f"Bearer {stack.token(VIEWER, VIEWER_PASSWORD)}"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(portfolio, headers=as_viewer), timeout=10)
    assert refused.value.code == 403
    as_analyst = {"Authorization": f"Bearer {stack.token(ANALYST, ANALYST_PASSWORD)}"}
    with urllib.request.urlopen(urllib.request.Request(portfolio, headers=as_analyst), timeout=10) as response:
        assert {point["account"] for point in json.loads(response.read())} == {"binance_account_b"}


def test_backfill_create_loads_exactly_the_days_asked_for_and_years_pass_through_exchange_outages(
    stack: AirflowStack, warehouse: MySQLdb.Connection
):
    """`airflow backfill create` as users run it: an odd range (dry run, then for real) and two years of
    BTCUSDT, whose history has exchange outages (no candle in REST nor archives): every run succeeds untouched,
    the warehouse holds exactly the server's candles of the days asked for, and the outages are recorded."""
    planned = stack.cli(
        "backfill",
        "create",
        "--dag-id",
        "binance_etl",
        "--from-date",
        "2024-02-28",
        "--to-date",
        "2024-04-01",
        "--dry-run",
    )
    logical_dates = re.findall(r"^\| (\d{4}-\d\d-\d\d)", planned, flags=re.MULTILINE)
    assert logical_dates == ["2024-02-28", "2024-02-29", "2024-03-01", "2024-04-01"]  # March as one run
    runs = stack.backfill("2024-02-29", "2024-04-01")  # for real from the leap day: a day, a month, a day
    assert [(run["data_interval_start"][:10], run["data_interval_end"][:10], run["state"]) for run in runs] == [
        ("2024-02-29", "2024-03-01", "success"),
        ("2024-03-01", "2024-04-01", "success"),
        ("2024-04-01", "2024-04-02", "success"),
    ], stack.logs()
    for symbol in ("BTCUSDT", "ETHUSDT"):  # the stack's default symbols, 1h: nothing before or after the range
        start, end = datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC)
        assert assert_exact_candles(warehouse, symbol, "1h", start, end) == 33 * 24
    for table in ("fact_kline", "agg_kline_daily", "agg_kline_series"):  # the years below are checked on their own
        query(warehouse, f"DELETE FROM {WAREHOUSE_DB}.{table}")
    warehouse.commit()

    runs = stack.backfill("2020-01-01", "2021-12-31", "--dag-run-conf", json.dumps({"symbols": ["BTCUSDT"]}))
    assert [(run["data_interval_start"][:10], run["state"]) for run in runs] == [
        ("2020-01-01", "success"),
        ("2021-01-01", "success"),
    ], stack.logs()  # two whole years, each untouched by its outages
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)
    assert assert_exact_candles(warehouse, "BTCUSDT", "1h", start, end) == 731 * 24 - 5 - 3 - 3
    gaps = query(
        warehouse,
        f"SELECT first_missing, last_missing, candles_missing FROM {WAREHOUSE_DB}.kline_gap ORDER BY first_missing",
    )
    assert gaps == [
        (datetime(2020, 2, 19, 12), datetime(2020, 2, 19, 16), 5),
        (datetime(2020, 6, 28, 2), datetime(2020, 6, 28, 4), 3),
        (datetime(2021, 4, 25, 5), datetime(2021, 4, 25, 7), 3),
    ]


def test_the_stream_service_announces_new_candles_to_airflow_as_asset_events(
    stack: AirflowStack, sim_urls: tuple[str, str], warehouse: MySQLdb.Connection
):
    """The real-time path tells Airflow through the api-server: a fact_kline Asset event, not a DAG run per candle."""
    rest, streams = sim_urls
    env = {
        **stack.env,
        "AIRFLOW_CONN_BINANCE_DEFAULT": connection_uri(rest, stream_url=streams),
        "AIRFLOW_CONN_AIRFLOW_API": json.dumps(
            {"conn_type": "http", "host": stack.url, "login": USER, "password": PASSWORD}
        ),
        "AIRFLOW_VAR_BINANCE_STREAM": json.dumps({"symbols": ["BTCUSDT"], "intervals": ["1s"]}),
        "BINANCE_STREAM_LOOKBACK": "10",
    }
    done = subprocess.run(
        [sys.executable, "-m", "binance_airflow.stream", "--seconds", "8"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert PASSWORD not in done.stdout + done.stderr
    (asset,) = stack.api("GET", "/api/v2/assets?name_pattern=binance_warehouse.fact_kline")["assets"]
    events = stack.api("GET", f"/api/v2/assets/events?asset_id={asset['id']}&limit=100")["asset_events"]
    from_stream = [event for event in events if (event.get("extra") or {}).get("source") == "binance_stream"]
    assert len(from_stream) == 1 and from_stream[0]["extra"]["candles"] > 0  # one a minute at most
    streamed = query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline WHERE source = 'binance_ws'")
    assert streamed[0][0] >= 5


def test_a_sensor_waiting_for_binance_defers_to_the_triggerer_and_the_run_succeeds(stack: AirflowStack, sim_url: str):
    """The ping sensor used to hold a Celery slot for as long as it waited; now it waits as ``deferred``."""
    sim = Sim(sim_url)
    sim.fault("status", path="/api/v3/ping", status=503, times=4)  # the first poke and three trigger pings
    try:
        conf = {"symbols": ["BTCUSDT"], "interval": "1h", "start": "2024-05-01", "end": "2024-05-01T03:00:00"}
        run = stack.api("POST", "/api/v2/dags/binance_etl/dagRuns", {"logical_date": None, "conf": conf})
        path = f"/api/v2/dags/binance_etl/dagRuns/{quote(run['dag_run_id'])}/taskInstances/binance_up"
        states, deadline = [], time.monotonic() + 120
        while "success" not in states and time.monotonic() < deadline:
            states.append((stack.api("GET", path) or {}).get("state"))
            time.sleep(0.5)
        assert stack.wait_for_run(run["dag_run_id"]) == "success", stack.logs()
        pings = sim.requests("/api/v3/ping")
    finally:
        sim.reset()
    assert "deferred" in states and states[-1] == "success", states
    assert pings >= 5  # the worker's first poke, then the triggerer's until one answered
