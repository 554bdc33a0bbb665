"""The dashboard's FastAPI app: one static page (Plotly.js charts) and JSON endpoints over the warehouse.

Every route requires a signed-in Airflow user (the api-server's JWT cookie or a bearer token); an account's
balances also need the right to read that account's connection, whose API key they come from (an imported
account's source connection, else ``binance_default``; with the simple auth manager: Op and Admin, not Viewer
or User). Airflow's auth manager decides, account by account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import plotly
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails
from airflow.api_fastapi.core_api.security import GetUserDep, get_user
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse

from binance_dashboard import queries
from include import settings
from include.intervals import validate_interval
from include.run_window import normalise_symbols

STATIC = Path(__file__).resolve().parent / "static"
MAX_SUMMARY_SYMBOLS = 100
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

app = FastAPI(title="Binance warehouse dashboard", dependencies=[Depends(get_user)])


@app.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@app.get("/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    if name == "plotly.min.js":
        return FileResponse(PLOTLY_JS, media_type="text/javascript")
    path = STATIC / name
    if path.parent != STATIC or not path.is_file():
        raise HTTPException(404)
    return FileResponse(path)


@app.get("/api/series")
def series() -> list[dict[str, Any]]:
    """Every loaded (symbol, interval): first and last open time, candles held, expected, confirmed outages and
    unexplained (v_kline_coverage)."""
    return queries.series()


def _symbol(value: str) -> str:
    try:
        return normalise_symbols([value])[0]
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


def _day(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise HTTPException(422, f"{name} must be an ISO date such as 2024-05-01, got {value!r}") from None


def _interval(value: str) -> str:
    try:
        return validate_interval(value)
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


def _range(start: str, end: str) -> tuple[datetime, datetime]:
    """[start, end) as naive UTC datetimes, start before end."""
    first, last = _day(start, "start"), _day(end, "end")
    if first >= last:
        raise HTTPException(422, "start must be before end")
    return first.replace(tzinfo=None), last.replace(tzinfo=None)


@app.get("/api/candles")
def candles(symbol: str, interval: str, start: Annotated[str, Query()], end: Annotated[str, Query()]) -> dict[str, Any]:
    """One series' candles in [start, end) (UTC ISO dates), at a resolution that shows the whole range."""
    return queries.candles(_symbol(symbol), _interval(interval), *_range(start, end))


@app.get("/api/summary")
def summary(
    symbols: Annotated[list[str], Query()], interval: str, start: Annotated[str, Query()], end: Annotated[str, Query()]
) -> dict[str, Any]:
    """The report's cards for the chosen symbols over the UTC days [start, end): average, high, low and final
    price, volume and trades per symbol and in total, and each symbol's change over 30 and 365 days."""
    if not 1 <= len(symbols) <= MAX_SUMMARY_SYMBOLS:
        raise HTTPException(422, f"choose 1 to {MAX_SUMMARY_SYMBOLS} symbols, got {len(symbols)}")
    first, last = _range(start, end)
    chosen = [_symbol(symbol) for symbol in symbols]
    return queries.range_summary(chosen, _interval(interval), first.date(), queries.day_after(last))


@app.get("/api/top_worst")
def top_worst(interval: str, limit: Annotated[int, Query(ge=1, le=50)] = 5) -> list[dict[str, Any]]:
    """The best and worst current series of one interval over 30 and 365 days."""
    return queries.top_worst(_interval(interval), limit)


@app.get("/api/forecast")
def forecast(symbol: str) -> list[dict[str, Any]]:
    """The latest 24-hour forecast of one symbol, with its intervals."""
    return queries.forecast(_symbol(symbol))


@app.get("/api/movers")
def movers() -> list[dict[str, Any]]:
    """The latest 24hr ticker of each symbol, ranked."""
    return queries.movers()


def _may_read(user: Any, conn_id: str) -> bool:
    details = ConnectionDetails(conn_id=conn_id)
    return get_auth_manager().is_authorized_connection(method="GET", details=details, user=user)


def readable_accounts(user: GetUserDep) -> list[str]:
    """The accounts whose connection the user may read; 403 when there is none (or, before any balances are
    loaded, when the user may not read ``binance_default``)."""
    known = queries.accounts(settings.BINANCE_CONN_ID)
    readable = [a["account"] for a in known if _may_read(user, a["connection_id"])]
    if not readable and (known or not _may_read(user, settings.BINANCE_CONN_ID)):
        raise HTTPException(
            403,
            "balances need read access to their account's connection (an Op or Admin role): "
            f"{', '.join(sorted({a['connection_id'] for a in known})) or settings.BINANCE_CONN_ID}",
        )
    return readable


@app.get("/api/portfolio")
def portfolio(accounts: Annotated[list[str], Depends(readable_accounts)]) -> list[dict[str, Any]]:
    """Account value in USDT per account and balance snapshot, for the accounts the user may see."""
    return queries.portfolio(accounts) if accounts else []
