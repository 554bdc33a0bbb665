"""One Airflow Asset per warehouse table: the load tasks emit them, analytics DAGs schedule on them."""

from __future__ import annotations

from airflow.sdk import Asset

from include import settings


def table_asset(table: str) -> Asset:
    """The Asset updated whenever a run commits rows to ``table`` in the warehouse database."""
    return Asset(
        name=f"{settings.WAREHOUSE_DATABASE}.{table}",
        uri=f"mysql-warehouse://{settings.WAREHOUSE_CONN_ID}/{settings.WAREHOUSE_DATABASE}/{table}",
        group="binance_warehouse",
    )
