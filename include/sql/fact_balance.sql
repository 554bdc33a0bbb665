-- Account balances (SIGNED /api/v3/account), one snapshot per asset and capture (Binance's server time).
CREATE TABLE IF NOT EXISTS fact_balance (
    asset         VARCHAR(20)   NOT NULL,
    snapshot_time DATETIME(3)   NOT NULL,
    free          DECIMAL(36,8) NOT NULL,
    locked        DECIMAL(36,8) NOT NULL,
    source        VARCHAR(128)  NOT NULL DEFAULT 'binance_api',
    PRIMARY KEY (asset, snapshot_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
