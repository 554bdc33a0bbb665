-- Account value in USDT per balance snapshot; unpriced = assets the warehouse has no USDT price for.
SELECT snapshot_time, SUM(value_usdt) AS value_usdt, COUNT(*) - COUNT(value_usdt) AS unpriced
  FROM v_portfolio_value
 GROUP BY snapshot_time
 ORDER BY snapshot_time
