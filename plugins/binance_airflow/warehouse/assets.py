"""One Airflow Asset per warehouse table: the load tasks emit them, analytics DAGs schedule on them."""

from __future__ import annotations

from airflow.sdk import Asset

from include import settings


def table_asset(table: str) -> Asset:
    """The Asset of ``table`` in the warehouse behind the warehouse connection: ``binance_warehouse.<table>``."""
    return Asset(
        name=f"{settings.WAREHOUSE_CONN_ID}.{table}",
        uri=f"mysql-warehouse://{settings.WAREHOUSE_CONN_ID}/{table}",
        group="binance_warehouse",
    )
