-- Account value in USDT per account, balance snapshot and asset: (free + locked) × price. USDT counts 1; any other
-- asset is priced by the <ASSET>USDT ticker captured closest to the snapshot (within five minutes: the same
-- run's), else the last <ASSET>USDT close before the snapshot; price_usdt and value_usdt stay NULL for an
-- asset the warehouse cannot price.
CREATE OR REPLACE VIEW v_portfolio_by_account AS
SELECT p.account, p.snapshot_time, p.asset, p.quantity, p.price_usdt, p.quantity * p.price_usdt AS value_usdt
  FROM (SELECT b.account,
               b.snapshot_time,
               b.asset,
               b.free + b.locked AS quantity,
               CASE WHEN b.asset = 'USDT' THEN 1
                    ELSE COALESCE(
                        (SELECT t.last_price FROM fact_ticker_24hr AS t
                          WHERE t.symbol = CONCAT(b.asset, 'USDT')
                            AND t.snapshot_time BETWEEN b.snapshot_time - INTERVAL 5 MINUTE
                                                    AND b.snapshot_time + INTERVAL 5 MINUTE
                          ORDER BY ABS(TIMESTAMPDIFF(MICROSECOND, t.snapshot_time, b.snapshot_time)) LIMIT 1),
                        (SELECT k.`close` FROM fact_kline AS k
                          WHERE k.symbol = CONCAT(b.asset, 'USDT') AND k.close_time < b.snapshot_time
                          ORDER BY k.close_time DESC LIMIT 1))
               END AS price_usdt
          FROM fact_balance AS b) AS p;
