-- Candles Binance itself does not have (exchange outages): a hole the warehouse found after a load, that
-- Binance answered with no candle when asked again for exactly that range. One row per hole and run window.
CREATE TABLE IF NOT EXISTS kline_gap (
    symbol          VARCHAR(32)  NOT NULL,
    `interval`      VARCHAR(4) COLLATE utf8mb4_bin NOT NULL,  -- case-sensitive: 1m is a minute, 1M a month
    first_missing   DATETIME(3)  NOT NULL,
    last_missing    DATETIME(3)  NOT NULL,
    candles_missing INT          NOT NULL,
    confirmed_by    VARCHAR(32)  NOT NULL,
    dag_run_id      VARCHAR(250) NOT NULL,
    recorded_at     DATETIME(3)  NOT NULL,
    PRIMARY KEY (symbol, `interval`, first_missing)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
