"""Pure transforms from Binance JSON to warehouse rows: no Airflow, no database, no network."""
