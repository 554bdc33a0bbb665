-- One symbol's candles in a window: how many, the first and the last open time.
SELECT COUNT(*), MIN(open_time_ms), MAX(open_time_ms)
  FROM fact_kline
 WHERE symbol = %(symbol)s AND `interval` = %(interval)s AND open_time >= %(start)s AND open_time < %(end)s
