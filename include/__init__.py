"""Project code that is not an Airflow plugin: interval maths, transforms, SQL and the Binance simulator."""
