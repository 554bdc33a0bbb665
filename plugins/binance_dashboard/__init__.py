"""The warehouse dashboard: a FastAPI app mounted in the Airflow api-server by binance_dashboard_plugin."""
