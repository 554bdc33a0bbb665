-- The consolidated portfolio: each account's latest balance snapshot, summed per asset over every account
-- (accounts: how many hold it; as_of: the oldest of those snapshots); value_usdt NULL when an asset is unpriced.
CREATE OR REPLACE VIEW v_portfolio_consolidated AS
SELECT p.asset, COUNT(*) AS accounts, SUM(p.quantity) AS quantity, MAX(p.price_usdt) AS price_usdt,
       CASE WHEN COUNT(p.value_usdt) = COUNT(*) THEN SUM(p.value_usdt) END AS value_usdt,
       MIN(p.snapshot_time) AS as_of
  FROM v_portfolio_by_account AS p
  JOIN (SELECT account, MAX(snapshot_time) AS snapshot_time FROM fact_balance GROUP BY account) AS latest
       ON latest.account = p.account AND latest.snapshot_time = p.snapshot_time
 GROUP BY p.asset;
