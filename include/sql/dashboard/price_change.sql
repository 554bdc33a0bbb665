-- The chosen symbols' close now, 30 and 365 days before, and the percent changes (v_price_change), at one interval.
SELECT symbol, final_date, close_now, close_30d_ago, close_365d_ago, pct_change_30d, pct_change_365d
  FROM v_price_change
 WHERE symbol IN %(symbols)s AND `interval` = %(interval)s
 ORDER BY symbol
