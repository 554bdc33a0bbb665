-- The dashboard's series list as it was before the summaries: a GROUP BY over the whole of fact_kline.
SELECT symbol, `interval`, MIN(open_time) AS first_open, MAX(open_time) AS last_open
  FROM fact_kline
 GROUP BY symbol, `interval`
 ORDER BY symbol, `interval`
