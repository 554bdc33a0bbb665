-- Return and volatility per symbol, loaded interval and calendar month, from the daily summary (agg_kline_daily):
-- month_return = the month's last close / the close before the month - 1 (its first open when no earlier
-- day is loaded); volatility_daily = sample standard deviation of the month's daily close-to-close returns
-- (volatility_annualised = × √365: crypto trades every day).
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
                  FROM agg_kline_daily) AS days
        WINDOW m AS (PARTITION BY symbol, `interval`, month_start)) AS months
 GROUP BY symbol, `interval`, month_start;
