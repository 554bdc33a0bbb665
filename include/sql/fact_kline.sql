-- One closed candle per (symbol, interval, open_time); exact decimals as Binance sends them.
CREATE TABLE IF NOT EXISTS fact_kline (
    symbol                 VARCHAR(32)    NOT NULL,
    `interval`             VARCHAR(4) COLLATE utf8mb4_bin NOT NULL,  -- case-sensitive: 1m is a minute, 1M a month
    open_time              DATETIME(3)    NOT NULL,
    open_time_ms           BIGINT         NOT NULL,
    date_key               INT UNSIGNED   NOT NULL,
    `open`                 DECIMAL(36,8)  NOT NULL,
    high                   DECIMAL(36,8)  NOT NULL,
    low                    DECIMAL(36,8)  NOT NULL,
    `close`                DECIMAL(36,8)  NOT NULL,
    volume                 DECIMAL(36,8)  NOT NULL,
    close_time             DATETIME(3)    NOT NULL,
    quote_volume           DECIMAL(36,8)  NULL,
    trades                 BIGINT         NULL,
    taker_buy_base_volume  DECIMAL(36,8)  NULL,
    taker_buy_quote_volume DECIMAL(36,8)  NULL,
    source                 VARCHAR(128)   NOT NULL DEFAULT 'binance_api',
    PRIMARY KEY (symbol, `interval`, open_time),
    KEY ix_fact_kline_date (date_key),
    CONSTRAINT fk_fact_kline_date FOREIGN KEY (date_key) REFERENCES dim_date (date_key),
    CONSTRAINT fk_fact_kline_symbol FOREIGN KEY (symbol) REFERENCES dim_symbol (symbol)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
