-- One series' candles in [start, end) merged into buckets of %(bucket_ms)s (UTC-aligned), oldest first: the
-- bucket's first open and last close by open time, highest high, lowest low, summed volume. Used only where the
-- range holds a bounded number of candles (queries.SCAN_LIMIT).
SELECT b.bucket_ms AS open_time_ms, f.`open`, b.high, b.low, l.`close`, b.volume
  FROM (SELECT open_time_ms DIV %(bucket_ms)s * %(bucket_ms)s AS bucket_ms, MIN(open_time) AS first_open,
               MAX(open_time) AS last_open, MAX(high) AS high, MIN(low) AS low, SUM(volume) AS volume
          FROM fact_kline
         WHERE symbol = %(symbol)s AND `interval` = %(interval)s AND open_time >= %(start)s AND open_time < %(end)s
         GROUP BY bucket_ms) AS b
  JOIN fact_kline AS f ON f.symbol = %(symbol)s AND f.`interval` = %(interval)s AND f.open_time = b.first_open
  JOIN fact_kline AS l ON l.symbol = %(symbol)s AND l.`interval` = %(interval)s AND l.open_time = b.last_open
 ORDER BY open_time_ms
