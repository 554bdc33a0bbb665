"""Imports from other systems: declarative source specs, reading and normalising their rows (pure; no Airflow)."""
