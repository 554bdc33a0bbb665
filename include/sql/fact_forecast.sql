-- Hourly close forecasts: one row per symbol, model, forecast origin (made_at) and target hour.
CREATE TABLE IF NOT EXISTS fact_forecast (
    symbol      VARCHAR(32)  NOT NULL,
    model       VARCHAR(32)  NOT NULL,
    made_at     DATETIME(3)  NOT NULL,
    target_time DATETIME(3)  NOT NULL,
    horizon     TINYINT      NOT NULL,
    yhat        DOUBLE       NOT NULL,
    lo_80       DOUBLE       NOT NULL,
    hi_80       DOUBLE       NOT NULL,
    lo_95       DOUBLE       NOT NULL,
    hi_95       DOUBLE       NOT NULL,
    PRIMARY KEY (symbol, model, made_at, target_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
