-- The Talend report's cards over whole UTC days [start, end) of the chosen symbols at one interval, from the daily
-- summary: per symbol the average close of its candles, highest high, lowest low, the final close and its date,
-- summed volume, quote volume and trades.
SELECT d.symbol,
       SUM(d.sum_close) / SUM(d.candles) AS average_price,
       MAX(d.high)                       AS high,
       MIN(d.low)                        AS low,
       MAX(d.trade_date)                 AS final_date,
       (SELECT f.`close` FROM agg_kline_daily AS f
         WHERE f.symbol = d.symbol AND f.`interval` = d.`interval` AND f.trade_date >= %(start)s
           AND f.trade_date < %(end)s
         ORDER BY f.trade_date DESC LIMIT 1) AS final_close,
       SUM(d.volume)                     AS volume,
       SUM(d.quote_volume)               AS quote_volume,
       SUM(d.trades)                     AS trades,
       SUM(d.candles)                    AS candles
  FROM agg_kline_daily AS d
 WHERE d.symbol IN %(symbols)s AND d.`interval` = %(interval)s AND d.trade_date >= %(start)s AND d.trade_date < %(end)s
 GROUP BY d.symbol, d.`interval`
 ORDER BY d.symbol
