-- Per symbol and loaded interval, the Talend report's measures: the final date (the day of its newest candle),
-- the close now (that day's last close) and the close 30 and 365 days before (the last close on or before that
-- day), with the % change over each; NULL where the series does not reach that far back. From the summaries:
-- a few key lookups per series, whatever the number of candles.
CREATE OR REPLACE VIEW v_price_change AS
SELECT symbol,
       `interval`,
       final_date,
       close_now,
       close_30d_ago,
       close_365d_ago,
       (close_now / close_30d_ago - 1) * 100  AS pct_change_30d,
       (close_now / close_365d_ago - 1) * 100 AS pct_change_365d
  FROM (SELECT s.symbol, s.`interval`, DATE(s.last_open_time) AS final_date,
               (SELECT d.`close` FROM agg_kline_daily d
                 WHERE d.symbol = s.symbol AND d.`interval` = s.`interval` AND d.trade_date = DATE(s.last_open_time))
                   AS close_now,
               (SELECT d.`close` FROM agg_kline_daily d
                 WHERE d.symbol = s.symbol AND d.`interval` = s.`interval`
                   AND d.trade_date <= DATE(s.last_open_time) - INTERVAL 30 DAY
                 ORDER BY d.trade_date DESC LIMIT 1) AS close_30d_ago,
               (SELECT d.`close` FROM agg_kline_daily d
                 WHERE d.symbol = s.symbol AND d.`interval` = s.`interval`
                   AND d.trade_date <= DATE(s.last_open_time) - INTERVAL 365 DAY
                 ORDER BY d.trade_date DESC LIMIT 1) AS close_365d_ago
          FROM agg_kline_series s) AS p;
