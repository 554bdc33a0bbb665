-- Account value in USDT per account and balance snapshot, for the accounts the signed-in user may see;
-- unpriced = assets the warehouse has no USDT price for.
SELECT account, snapshot_time, SUM(value_usdt) AS value_usdt, COUNT(*) - COUNT(value_usdt) AS unpriced
  FROM v_portfolio_by_account
 WHERE account IN %(accounts)s
 GROUP BY account, snapshot_time
 ORDER BY account, snapshot_time
