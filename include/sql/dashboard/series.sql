-- Every (symbol, interval) series with its first and last candle, from its coverage row (agg_kline_series).
SELECT symbol, `interval`, first_open_time AS first_open, last_open_time AS last_open, candles
  FROM agg_kline_series
 ORDER BY symbol, `interval`
