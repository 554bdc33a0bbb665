-- Rolling-origin backtest of a model per symbol, evaluated at the origin of the forecast it accompanies.
CREATE TABLE IF NOT EXISTS forecast_metrics (
    symbol       VARCHAR(32) NOT NULL,
    model        VARCHAR(32) NOT NULL,
    evaluated_at DATETIME(3) NOT NULL,
    folds        SMALLINT    NOT NULL,
    horizon      TINYINT     NOT NULL,
    mase         DOUBLE      NOT NULL,
    mape         DOUBLE      NOT NULL,
    coverage_80  DOUBLE      NOT NULL,
    coverage_95  DOUBLE      NOT NULL,
    PRIMARY KEY (symbol, model, evaluated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
