-- One symbol's candles in a window: how many, the first and the last open time, and the least and greatest
-- open time modulo the interval's width (%(step)s ms; 0 for 1M, giving NULL), equal when all are on one grid.
SELECT COUNT(*), MIN(open_time_ms), MAX(open_time_ms),
       MIN(MOD(open_time_ms, NULLIF(%(step)s, 0))), MAX(MOD(open_time_ms, NULLIF(%(step)s, 0)))
  FROM fact_kline
 WHERE symbol = %(symbol)s AND `interval` = %(interval)s AND open_time >= %(start)s AND open_time < %(end)s
