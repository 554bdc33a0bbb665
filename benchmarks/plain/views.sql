-- The views as they were before the summaries (read fact_kline itself), for benchmarks.bi_latency's side by side.
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

CREATE OR REPLACE VIEW v_monthly_returns AS
SELECT symbol,
       `interval`,
       month_start,
       COUNT(*)                              AS trading_days,
       MIN(month_close) / MIN(reference) - 1 AS month_return,
       STDDEV_SAMP(daily_return)             AS volatility_daily,
       STDDEV_SAMP(daily_return) * SQRT(365) AS volatility_annualised
  FROM (SELECT symbol, `interval`, month_start,
               `close` / prev_close - 1 AS daily_return,
               FIRST_VALUE(COALESCE(prev_close, `open`)) OVER (m ORDER BY trade_date) AS reference,
               FIRST_VALUE(`close`) OVER (m ORDER BY trade_date DESC) AS month_close
          FROM (SELECT symbol, `interval`, trade_date, `open`, `close`,
                       CAST(DATE_FORMAT(trade_date, '%Y-%m-01') AS DATE) AS month_start,
                       LAG(`close`) OVER (PARTITION BY symbol, `interval` ORDER BY trade_date) AS prev_close
                  FROM v_daily_ohlcv) AS days
        WINDOW m AS (PARTITION BY symbol, `interval`, month_start)) AS months
 GROUP BY symbol, `interval`, month_start;
