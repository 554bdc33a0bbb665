-- The current series of one interval ranked over 30 and 365 days (v_top_worst): the best and worst %(limit)s each.
SELECT horizon_days, symbol, final_date, pct_change, top_rank, worst_rank
  FROM v_top_worst
 WHERE `interval` = %(interval)s AND (top_rank <= %(limit)s OR worst_rank <= %(limit)s)
 ORDER BY horizon_days, top_rank
