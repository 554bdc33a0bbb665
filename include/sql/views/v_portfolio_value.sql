-- Account value in USDT per balance snapshot and asset, over every account (v_portfolio_by_account per account):
-- quantity and value summed over the accounts captured at that moment.
CREATE OR REPLACE VIEW v_portfolio_value AS
SELECT snapshot_time, asset, SUM(quantity) AS quantity, MAX(price_usdt) AS price_usdt,
       CASE WHEN COUNT(value_usdt) = COUNT(*) THEN SUM(value_usdt) END AS value_usdt
  FROM v_portfolio_by_account
 GROUP BY snapshot_time, asset;
