-- What the warehouse holds per series: first and last candle, candles held, candles the exchange's grid has
-- between them, the candles Binance confirmed it does not have (kline_gap), and the holes still unexplained
-- (expected - held - confirmed: 0 when everything is there). From the summaries: one row read per series.
-- The seconds per interval are include/intervals.py's (a test compares them).
CREATE OR REPLACE VIEW v_kline_coverage AS
SELECT c.*, c.candles_expected - c.candles_held - c.confirmed_outages AS unexplained
  FROM (SELECT s.symbol,
               s.`interval`,
               s.first_open_time,
               s.last_open_time,
               s.candles AS candles_held,
               s.days AS days_held,
               CASE s.`interval`
                   WHEN '1M' THEN TIMESTAMPDIFF(MONTH, s.first_open_time, s.last_open_time)
                   ELSE TIMESTAMPDIFF(SECOND, s.first_open_time, s.last_open_time) DIV CASE s.`interval`
                       WHEN '1s' THEN 1 WHEN '1m' THEN 60 WHEN '3m' THEN 180 WHEN '5m' THEN 300
                       WHEN '15m' THEN 900 WHEN '30m' THEN 1800 WHEN '1h' THEN 3600 WHEN '2h' THEN 7200
                       WHEN '4h' THEN 14400 WHEN '6h' THEN 21600 WHEN '8h' THEN 28800 WHEN '12h' THEN 43200
                       WHEN '1d' THEN 86400 WHEN '3d' THEN 259200 WHEN '1w' THEN 604800 END
               END + 1 AS candles_expected,
               (SELECT COALESCE(SUM(k.candles_missing), 0)
                  FROM kline_gap k
                 WHERE k.symbol = s.symbol AND k.`interval` = s.`interval`
                   AND k.first_missing BETWEEN s.first_open_time AND s.last_open_time) AS confirmed_outages
          FROM agg_kline_series s) c;
