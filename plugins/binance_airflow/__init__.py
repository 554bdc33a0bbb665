"""Airflow integration for Binance and the star-schema warehouse, in four rooms (layers, each importing only
those below it; ``lint-imports`` enforces it, see pyproject.toml):

- ``stream``: the real-time service (``python -m binance_airflow.stream``);
- ``etl``: the DAGs' steps, reconciliation, run report, notifications, timetable;
- ``binance`` (the Binance client) and ``warehouse`` (MySQL: registry, loads, schema, checks, roles, Assets),
  which know nothing of each other;
- and below them all ``include/``: pure logic with no Airflow in it.
"""
