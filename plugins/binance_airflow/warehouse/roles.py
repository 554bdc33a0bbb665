"""Warehouse users by role, created and granted idempotently by an administrator account.

- the writer (``binance_warehouse`` connection): everything inside the warehouse database (DDL and DML,
  ``LOAD DATA``), nothing outside it: the ETL, the file inbox, the forecast and the stream service;
- the reader (``binance_warehouse_reader`` connection): SELECT on the facts, dimensions and views BI tools
  and the dashboard read, nothing else; its connections never enable ``local_infile``.

``python -m binance_airflow.warehouse.roles`` runs it with the administrator in the
``binance_warehouse_admin`` connection (compose's airflow-init does; the other services never see it).
It creates the database and its schema first, so the reader's grants can name every table and view.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk import BaseHook

from binance_airflow.warehouse.tables import TABLES, VIEWS
from include import settings

log = logging.getLogger(__name__)

ADMIN_CONN_ID = "binance_warehouse_admin"
_NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")


@dataclass(frozen=True)
class Login:
    user: str
    password: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.user):
            raise ValueError(f"warehouse user {self.user!r}: use 1-32 letters, digits and underscores")
        if len(self.password) < 12:
            raise ValueError(f"warehouse user {self.user!r} needs a password of at least 12 characters")

    def __repr__(self) -> str:  # never the password
        return f"Login({self.user!r})"


def readable_objects() -> list[str]:
    """What the reader may SELECT: every table but the ETL's own bookkeeping, and every view."""
    return [table.name for table in TABLES.values() if not table.internal] + list(VIEWS)


def ensure_users(admin: MySqlHook, database: str, writer: Login, reader: Login) -> None:
    """Create (or update the passwords of) the writer and the reader and grant exactly their rights."""
    if not _NAME.match(database):
        raise ValueError(f"invalid warehouse database name {database!r}")
    conn = admin.get_conn()
    try:
        cursor = conn.cursor()
        for login in (writer, reader):
            cursor.execute(f"CREATE USER IF NOT EXISTS '{login.user}'@'%%' IDENTIFIED BY %s", (login.password,))
            cursor.execute(f"ALTER USER '{login.user}'@'%%' IDENTIFIED BY %s", (login.password,))
        cursor.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{writer.user}'@'%'")
        readable = readable_objects()
        for name in readable:
            cursor.execute(f"GRANT SELECT ON `{database}`.`{name}` TO '{reader.user}'@'%'")
        conn.commit()
    finally:
        conn.close()
    log.info(
        "warehouse users ready: %s writes %s, %s reads %d tables and views",
        writer.user,
        database,
        reader.user,
        len(readable),
    )


def login_of(conn_id: str) -> Login:
    conn = BaseHook.get_connection(conn_id)
    return Login(conn.login or "", conn.password or "")


def main() -> None:
    """Database, schema and both users, from the admin, writer and reader connections."""
    from binance_airflow.warehouse.connection import database
    from binance_airflow.warehouse.schema import create_warehouse

    name = database()
    writer, reader = login_of(settings.WAREHOUSE_CONN_ID), login_of(settings.WAREHOUSE_READER_CONN_ID)
    create_warehouse(name, conn_id=ADMIN_CONN_ID)
    ensure_users(MySqlHook(mysql_conn_id=ADMIN_CONN_ID, schema=name), name, writer, reader)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
