"""The real-time path: closed candles from Binance's WebSocket kline streams into fact_kline within a second.

A long-running process, not an Airflow task (``python -m binance_airflow.stream``; the ``binance-stream``
service of docker-compose.yaml). What it streams is the Airflow Variable ``binance_stream``; holes left
by disconnects of any length are healed over REST; Airflow hears of new candles through Asset events.
"""
