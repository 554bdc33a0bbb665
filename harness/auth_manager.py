"""The deployment tests' auth manager: Airflow's simple auth manager, which grants connections by role only, plus
connections granted user by user (``BINANCE_STACK_CONNECTION_GRANTS=user=conn_a,conn_b;other=conn_c``), as FAB
or Keycloak can grant them: what the dashboard shows each user is then decided account by account."""

from __future__ import annotations

import os
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

GRANTS_ENV = "BINANCE_STACK_CONNECTION_GRANTS"


def grants() -> dict[str, set[str]]:
    """user -> the connections granted to them (reading only)."""
    found: dict[str, set[str]] = {}
    for entry in filter(None, os.environ.get(GRANTS_ENV, "").split(";")):
        user, _, conn_ids = entry.partition("=")
        found[user.strip()] = {c.strip() for c in conn_ids.split(",") if c.strip()}
    return found


class ConnectionGrantingAuthManager(SimpleAuthManager):
    def is_authorized_connection(self, *, method: Any, user: Any, details: Any = None) -> bool:
        granted = grants().get(user.get_name(), set())
        if method == "GET" and details is not None and details.conn_id in granted:
            return True
        return super().is_authorized_connection(method=method, user=user, details=details)
