"""The SQL files under include/sql, read once per process."""

from __future__ import annotations

from functools import cache

from include import settings


@cache
def sql(path: str) -> str:
    """The text of ``include/sql/<path>``."""
    return (settings.SQL_DIR / path).read_text()
