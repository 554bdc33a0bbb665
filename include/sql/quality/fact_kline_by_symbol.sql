(SELECT symbol,
        COUNT(*) AS candles,
        GREATEST({{ expected_candles(window.interval) }} - COUNT(*), 0) AS missing,
        SUM(high < low) AS high_below_low
   FROM fact_kline
  WHERE {{ kline_scope(window) }}
  GROUP BY symbol) AS by_symbol
