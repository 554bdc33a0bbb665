-- The Talend report's Top & Worst page: per loaded interval and horizon (30 or 365 days), the current series (those
-- whose final date is the interval's newest: a pair delisted long ago is not this month's worst) ranked by % change,
-- best first (top_rank) and worst first (worst_rank). From v_price_change, so from the summaries.
CREATE OR REPLACE VIEW v_top_worst AS
SELECT symbol,
       `interval`,
       horizon_days,
       final_date,
       pct_change,
       RANK() OVER (PARTITION BY `interval`, horizon_days ORDER BY pct_change DESC) AS top_rank,
       RANK() OVER (PARTITION BY `interval`, horizon_days ORDER BY pct_change) AS worst_rank
  FROM (SELECT p.symbol, p.`interval`, h.horizon_days, p.final_date,
               CASE h.horizon_days WHEN 30 THEN p.pct_change_30d ELSE p.pct_change_365d END AS pct_change
          FROM v_price_change p
          JOIN (SELECT 30 AS horizon_days UNION ALL SELECT 365) AS h
          JOIN (SELECT `interval`, DATE(MAX(last_open_time)) AS newest
                  FROM agg_kline_series GROUP BY `interval`) AS n
            ON n.`interval` = p.`interval` AND n.newest = p.final_date) AS ranked
 WHERE pct_change IS NOT NULL;
