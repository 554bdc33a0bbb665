"""What the tests and the benchmarks both start: the Binance simulator in its own process, a real Airflow deployment.

Both import from here and never from each other (``lint-imports`` keeps it so).
"""
