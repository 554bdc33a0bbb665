-- Daily OHLCV per symbol and loaded interval (UTC days), from fact_kline: first open, highest high,
-- lowest low, last close, summed volumes, and how many candles made the day.
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
