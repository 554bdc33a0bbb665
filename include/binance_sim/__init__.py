"""A Binance spot REST simulator for tests, benchmarks and the offline demo (``python -m include.binance_sim``)."""
