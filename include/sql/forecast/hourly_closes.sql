-- A symbol's latest 1h candles, newest first.
SELECT open_time, `close` FROM fact_kline
 WHERE symbol = %(symbol)s AND `interval` = '1h'
 ORDER BY open_time DESC
 LIMIT %(hours)s
