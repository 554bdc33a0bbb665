-- Every (symbol, interval) series: its first and last candle, the candles held, expected on the exchange's grid,
-- confirmed as outages and unexplained (v_kline_coverage, one row read per series).
SELECT symbol, `interval`, first_open_time AS first_open, last_open_time AS last_open, candles_held AS candles,
       candles_expected, confirmed_outages, unexplained
  FROM v_kline_coverage
 ORDER BY symbol, `interval`
