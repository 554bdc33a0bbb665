-- The latest 24hr snapshot per symbol, biggest rise first.
SELECT symbol, snapshot_time, price_change_percent, last_price, quote_volume, gain_rank, loss_rank
  FROM v_top_movers_24h
 ORDER BY gain_rank
