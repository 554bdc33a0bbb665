"""Airflow integration for the Binance spot REST API: the hook and its helpers."""
