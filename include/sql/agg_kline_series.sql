-- Coverage of each (symbol, interval) series of fact_kline: its first and last candle, how many candles and days
-- it holds; kept with agg_kline_daily in the transaction that writes the candles.
CREATE TABLE IF NOT EXISTS agg_kline_series (
    symbol          VARCHAR(32)    NOT NULL,
    `interval`      VARCHAR(4) COLLATE utf8mb4_bin NOT NULL,  -- case-sensitive: 1m is a minute, 1M a month
    first_open_time DATETIME(3)    NOT NULL,
    last_open_time  DATETIME(3)    NOT NULL,
    candles         BIGINT         NOT NULL,
    days            INT            NOT NULL,
    PRIMARY KEY (symbol, `interval`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
