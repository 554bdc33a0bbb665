REPLACE INTO forecast_metrics (symbol, model, evaluated_at, folds, horizon, mase, mape, coverage_80, coverage_95)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
