-- The latest 24hr ticker snapshot of each symbol, ranked: gain_rank 1 = biggest rise, loss_rank 1 = biggest fall.
CREATE OR REPLACE VIEW v_top_movers_24h AS
SELECT t.symbol,
       t.snapshot_time,
       t.price_change_percent,
       t.price_change,
       t.last_price,
       t.high_price,
       t.low_price,
       t.quote_volume,
       RANK() OVER (ORDER BY t.price_change_percent DESC) AS gain_rank,
       RANK() OVER (ORDER BY t.price_change_percent ASC)  AS loss_rank
  FROM fact_ticker_24hr AS t
  JOIN (SELECT symbol, MAX(snapshot_time) AS snapshot_time FROM fact_ticker_24hr GROUP BY symbol) AS latest
       ON latest.symbol = t.symbol AND latest.snapshot_time = t.snapshot_time;
