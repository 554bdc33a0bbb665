-- One symbol's candles in a window: every pair of consecutive candles further apart than one interval
-- (%(months)s months plus %(micros)s microseconds), i.e. where candles are missing between them.
SELECT previous_ms, open_time_ms
  FROM (SELECT open_time, open_time_ms,
               LAG(open_time) OVER (ORDER BY open_time) AS previous_time,
               LAG(open_time_ms) OVER (ORDER BY open_time) AS previous_ms
          FROM fact_kline
         WHERE symbol = %(symbol)s AND `interval` = %(interval)s AND open_time >= %(start)s AND open_time < %(end)s
       ) AS series
 WHERE previous_time IS NOT NULL
   AND open_time > previous_time + INTERVAL %(months)s MONTH + INTERVAL %(micros)s MICROSECOND
