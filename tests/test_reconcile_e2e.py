"""fact_kline reconciled with Binance after every load (whole dag.test() runs, the simulator, MariaDB): holes the
exchange fills are healed, holes it confirms are recorded as outages, and a real loss fails the run naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import MySQLdb
import pytest

from binance_airflow.warehouse.schema import create_warehouse
from tests.conftest import WAREHOUSE_DB, Sim
from tests.dag_runs import DAY, assert_exact_candles, asset_events, failures, query, summary, task_states, whole_run

pytestmark = pytest.mark.dag
END = DAY + timedelta(days=2)  # recent: ticker and balances are captured too
START = END - timedelta(hours=6)


def lose_candles(conn: MySQLdb.Connection, opens: list[datetime], every_load: bool) -> None:
    """A warehouse that loses ``opens`` of BTCUSDT 1h whenever a batch commits (or only the first time)."""
    create_warehouse()
    cur = conn.cursor()
    cur.execute(f"USE {WAREHOUSE_DB}")
    cur.execute("CREATE TABLE lose_once (armed INT)")
    cur.execute("INSERT INTO lose_once VALUES (1)")
    times = ", ".join(f"'{moment:%Y-%m-%d %H:%M:%S}'" for moment in opens)
    armed = "TRUE" if every_load else "(SELECT COUNT(*) FROM lose_once) > 0"
    cur.execute(f"""
        CREATE TRIGGER lose_candles AFTER INSERT ON etl_run_log FOR EACH ROW
        BEGIN
          IF NEW.table_name = 'fact_kline' AND {armed} THEN
            DELETE FROM fact_kline WHERE symbol = 'BTCUSDT' AND `interval` = '1h' AND open_time IN ({times});
            DELETE FROM lose_once;
          END IF;
        END""")
    conn.commit()


def test_a_candle_left_out_of_one_answer_is_asked_for_again_and_healed(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim
):
    binance_conn.fault("missing_candle", path="/api/v3/klines")  # the page misses its middle candle, once
    run = whole_run(START, END, ["BTCUSDT"])
    assert run.state == "success"
    assert assert_exact_candles(warehouse, "BTCUSDT", "1h", START, END) == 6
    report = summary(webhook)
    assert report["healed"] == {"BTCUSDT": 1} and report["exchange_outages"] == []
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.kline_gap") == [(0,)]
    heal = query(warehouse, f"SELECT batch, inserted FROM {WAREHOUSE_DB}.etl_run_log WHERE batch LIKE '%heal%'")
    assert heal == [("fact_kline.BTCUSDT.heal.csv", 1)]


def test_an_exchange_outage_is_recorded_and_the_run_passes(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim
):
    """BTCUSDT traded no minute from 2023-03-24 12:40 to 13:59: Binance has no 13:00 candle, and its 12:00
    candle closes early. Asked again, Binance still has none: an outage, recorded; no setting needed."""
    day = datetime(2023, 3, 24, tzinfo=UTC)
    for _ in range(2):  # a rerun records it once
        run = whole_run(day, day + timedelta(days=1), ["BTCUSDT"])
        assert run.state == "success"
        assert failures(webhook) == {}
    assert assert_exact_candles(warehouse, "BTCUSDT", "1h", day, day + timedelta(days=1)) == 23
    early = query(warehouse, f"SELECT close_time FROM {WAREHOUSE_DB}.fact_kline WHERE open_time = '2023-03-24 12:00'")
    assert early == [(datetime(2023, 3, 24, 12, 39, 59, 999000),)]  # as Binance serves it
    gaps = query(
        warehouse,
        f"SELECT symbol, `interval`, first_missing, last_missing, candles_missing, confirmed_by, "
        f"dag_run_id FROM {WAREHOUSE_DB}.v_kline_outages",
    )
    moment = datetime(2023, 3, 24, 13)
    assert gaps == [("BTCUSDT", "1h", moment, moment, 1, "exchange_recheck", run.run_id)]
    coverage = query(
        warehouse,
        f"SELECT first_open_time, last_open_time, candles_held, candles_expected, confirmed_outages, unexplained "
        f"FROM {WAREHOUSE_DB}.v_kline_coverage WHERE symbol = 'BTCUSDT' AND `interval` = '1h'",
    )
    assert coverage == [(datetime(2023, 3, 24), datetime(2023, 3, 24, 23), 23, 24, 1, 0)]  # the outage explains it
    outage = summary(webhook[-1:])["exchange_outages"]
    assert outage == [
        {
            "symbol": "BTCUSDT",
            "interval": "1h",
            "first_missing": "2023-03-24 13:00:00.000",
            "first_missing_ms": int(moment.replace(tzinfo=UTC).timestamp() * 1000),
            "last_missing": "2023-03-24 13:00:00.000",
            "candles": 1,
            "open_times": ["2023-03-24 13:00:00.000"],
        }
    ]


@pytest.mark.parametrize("every_load", [False, True], ids=["lost once: healed", "lost for good: the run fails"])
def test_candles_lost_by_the_warehouse_are_healed_or_fail_the_run_never_pass_silently(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim, every_load: bool
):
    lost = [START + timedelta(hours=2), START + timedelta(hours=3)]
    lose_candles(warehouse, lost, every_load)
    run = whole_run(START, END, ["BTCUSDT"])
    report = summary(webhook)
    if not every_load:
        assert run.state == "success"
        assert report["healed"] == {"BTCUSDT": 2}
        assert assert_exact_candles(warehouse, "BTCUSDT", "1h", START, END) == 6
        return
    assert run.state == "failed"
    states = task_states(run.run_id)
    assert states["reconcile_fact_kline"] == "failed" and states["publish_fact_kline"] == "upstream_failed"
    error = failures(webhook)["reconcile_fact_kline"]
    first, second = (f"{moment:%Y-%m-%d %H:%M:%S}.000" for moment in lost)
    assert f"BTCUSDT 1h: 2 missing from {first} (first missing open times {first}, {second})" in error
    assert report["missing_candles"][0]["open_times"] == [first, second]
    assert "binance_warehouse.fact_kline" not in asset_events(run.run_id)  # nothing published


def test_a_window_where_the_warehouse_got_nothing_but_binance_has_candles_fails(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim
):
    """Every candle of the window lost: the edges are checked against Binance, not against what was loaded."""
    lose_candles(warehouse, [START + timedelta(hours=h) for h in range(6)], every_load=True)
    run = whole_run(START, END, ["BTCUSDT"])
    assert run.state == "failed"
    assert query(warehouse, f"SELECT COUNT(*) FROM {WAREHOUSE_DB}.fact_kline") == [(0,)]
    assert f"BTCUSDT 1h: 6 missing from {START:%Y-%m-%d %H:%M:%S}.000" in failures(webhook)["reconcile_fact_kline"]


def test_a_candle_binance_keeps_serving_broken_fails_the_run_with_the_reason(
    airflow_db: None, warehouse: MySQLdb.Connection, webhook: list[dict], binance_conn: Sim
):
    binance_conn.fault("bad_candle", path="/api/v3/klines", times=100)  # every page's first candle: high < open
    run = whole_run(START, END, ["BTCUSDT"])
    assert run.state == "failed"
    error = failures(webhook)["reconcile_fact_kline"]
    assert f"BTCUSDT 1h: 1 missing from {START:%Y-%m-%d %H:%M:%S}.000" in error and "high 0.00000001 is below" in error
    assert query(warehouse, f"SELECT batch, COUNT(*) FROM {WAREHOUSE_DB}.etl_reject GROUP BY batch ORDER BY 1") == [
        ("heal", 1),
        ("load", 1),
    ]
