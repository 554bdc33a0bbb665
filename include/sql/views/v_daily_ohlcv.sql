-- Daily OHLCV per symbol and loaded interval (UTC days): first open, highest high, lowest low, last close, summed
-- volumes, and how many candles made the day. Read from agg_kline_daily, which every write of fact_kline keeps
-- in its own transaction: a filter on symbol, interval or trade_date reads only those days.
CREATE OR REPLACE ALGORITHM = MERGE VIEW v_daily_ohlcv AS
SELECT symbol,
       `interval`,
       trade_date,
       `open`,
       high,
       low,
       `close`,
       volume,
       quote_volume,
       candles
  FROM agg_kline_daily;
