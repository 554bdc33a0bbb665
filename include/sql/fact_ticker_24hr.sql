-- Rolling 24-hour statistics, one snapshot per symbol and capture (snapshot_time = the ticker's closeTime).
CREATE TABLE IF NOT EXISTS fact_ticker_24hr (
    symbol               VARCHAR(32)   NOT NULL,
    snapshot_time        DATETIME(3)   NOT NULL,
    price_change         DECIMAL(36,8) NOT NULL,
    price_change_percent DECIMAL(12,3) NOT NULL,
    last_price           DECIMAL(36,8) NOT NULL,
    open_price           DECIMAL(36,8) NOT NULL,
    high_price           DECIMAL(36,8) NOT NULL,
    low_price            DECIMAL(36,8) NOT NULL,
    volume               DECIMAL(36,8) NOT NULL,
    quote_volume         DECIMAL(36,8) NOT NULL,
    trade_count          BIGINT        NOT NULL,
    window_open_time     DATETIME(3)   NOT NULL,
    window_close_time    DATETIME(3)   NOT NULL,
    source               VARCHAR(128)  NOT NULL DEFAULT 'binance_api',
    PRIMARY KEY (symbol, snapshot_time),
    CONSTRAINT fk_ticker_symbol FOREIGN KEY (symbol) REFERENCES dim_symbol (symbol)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
