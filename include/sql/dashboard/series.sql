-- Every (symbol, interval) series in fact_kline with its first and last candle (loose index scan on the key).
SELECT symbol, `interval`, MIN(open_time) AS first_open, MAX(open_time) AS last_open
  FROM fact_kline
 GROUP BY symbol, `interval`
 ORDER BY symbol, `interval`
