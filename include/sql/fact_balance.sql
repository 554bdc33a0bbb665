-- Account balances (SIGNED /api/v3/account, or imported), one snapshot per account, asset and capture (Binance's
-- server time). Balances from before accounts belong to the default account, binance_default.
CREATE TABLE IF NOT EXISTS fact_balance (
    account       VARCHAR(64)   NOT NULL DEFAULT 'binance_default',
    asset         VARCHAR(20)   NOT NULL,
    snapshot_time DATETIME(3)   NOT NULL,
    free          DECIMAL(36,8) NOT NULL,
    locked        DECIMAL(36,8) NOT NULL,
    source        VARCHAR(128)  NOT NULL DEFAULT 'binance_api',
    PRIMARY KEY (account, asset, snapshot_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
