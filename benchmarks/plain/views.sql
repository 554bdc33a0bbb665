-- v_daily_ohlcv as it was before the summaries (read from fact_kline itself), for benchmarks.bi_latency's side by
-- side; v_monthly_returns then read it (the benchmark points today's definition at it).
CREATE OR REPLACE VIEW v_daily_ohlcv AS
SELECT symbol,
       `interval`,
       trade_date,
       MIN(first_open)   AS `open`,
       MAX(high)         AS high,
       MIN(low)          AS low,
       MIN(last_close)   AS `close`,
       SUM(volume)       AS volume,
       SUM(quote_volume) AS quote_volume,
       COUNT(*)          AS candles
  FROM (SELECT symbol, `interval`, DATE(open_time) AS trade_date, high, low, volume, quote_volume,
               FIRST_VALUE(`open`) OVER (PARTITION BY symbol, `interval`, DATE(open_time) ORDER BY open_time)
                   AS first_open,
               FIRST_VALUE(`close`) OVER (PARTITION BY symbol, `interval`, DATE(open_time) ORDER BY open_time DESC)
                   AS last_close
          FROM fact_kline) AS k
 GROUP BY symbol, `interval`, trade_date;
