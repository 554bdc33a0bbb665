-- Symbols with enough 1h candles to fit a forecaster.
SELECT symbol FROM fact_kline WHERE `interval` = '1h' GROUP BY symbol HAVING COUNT(*) >= %(min_hours)s ORDER BY symbol
