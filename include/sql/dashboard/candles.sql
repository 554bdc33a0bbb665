-- One series' candles in [start, end), newest first, at most %(limit)s (the page reverses them).
SELECT open_time_ms, `open`, high, low, `close`, volume
  FROM fact_kline
 WHERE symbol = %(symbol)s AND `interval` = %(interval)s AND open_time >= %(start)s AND open_time < %(end)s
 ORDER BY open_time DESC
 LIMIT %(limit)s
