-- fact_kline summarised per (symbol, interval, UTC day of open_time), kept by every writer of fact_kline in the
-- transaction that writes the candles (binance_airflow.warehouse.summaries): the day's first open and last close
-- by open time, highest high, lowest low, summed volumes and trades, the sum of its closes (average price over any
-- range = SUM(sum_close) / SUM(candles)), how many candles made it and the first and last of them. Exact decimals;
-- a value is NULL only where the candles hold NULLs (a legacy fact_kline's nullable columns: its gate names them).
CREATE TABLE IF NOT EXISTS agg_kline_daily (
    symbol          VARCHAR(32)    NOT NULL,
    `interval`      VARCHAR(4) COLLATE utf8mb4_bin NOT NULL,  -- case-sensitive: 1m is a minute, 1M a month
    trade_date      DATE           NOT NULL,
    `open`          DECIMAL(36,8)  NULL,
    high            DECIMAL(36,8)  NULL,
    low             DECIMAL(36,8)  NULL,
    `close`         DECIMAL(36,8)  NULL,
    volume          DECIMAL(42,8)  NULL,
    quote_volume    DECIMAL(42,8)  NULL,
    trades          BIGINT         NULL,
    sum_close       DECIMAL(42,8)  NULL,
    candles         INT            NOT NULL,
    first_open_time DATETIME(3)    NOT NULL,
    last_open_time  DATETIME(3)    NOT NULL,
    PRIMARY KEY (symbol, `interval`, trade_date),
    KEY ix_agg_kline_daily_date (`interval`, trade_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
