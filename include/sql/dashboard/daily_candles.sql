-- One series' daily candles in [start, end) from its daily summary, newest first, at most %(limit)s.
SELECT TIMESTAMPDIFF(SECOND, '1970-01-01', trade_date) * 1000 AS open_time_ms, `open`, high, low, `close`, volume
  FROM agg_kline_daily
 WHERE symbol = %(symbol)s AND `interval` = %(interval)s AND trade_date >= %(start)s AND trade_date < %(end)s
 ORDER BY trade_date DESC
 LIMIT %(limit)s
