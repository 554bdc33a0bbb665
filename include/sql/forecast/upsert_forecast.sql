INSERT INTO fact_forecast (symbol, model, made_at, target_time, horizon, yhat, lo_80, hi_80, lo_95, hi_95)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON DUPLICATE KEY UPDATE horizon = VALUES(horizon), yhat = VALUES(yhat), lo_80 = VALUES(lo_80),
    hi_80 = VALUES(hi_80), lo_95 = VALUES(lo_95), hi_95 = VALUES(hi_95)
