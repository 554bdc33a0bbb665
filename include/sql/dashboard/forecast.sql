-- A symbol's latest forecast (the newest origin of the model) with its intervals.
SELECT f.target_time, f.yhat, f.lo_80, f.hi_80, f.lo_95, f.hi_95, f.made_at, f.model
  FROM fact_forecast AS f
 WHERE f.symbol = %(symbol)s
   AND f.made_at = (SELECT MAX(made_at) FROM fact_forecast WHERE symbol = %(symbol)s)
 ORDER BY f.target_time
