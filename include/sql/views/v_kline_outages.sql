-- Exchange outages found by the runs: candles Binance confirmed it does not have, per hole.
CREATE OR REPLACE VIEW v_kline_outages AS
SELECT symbol,
       `interval`,
       first_missing,
       last_missing,
       candles_missing,
       TIMESTAMPDIFF(MINUTE, first_missing, last_missing) AS minutes_between_first_and_last,
       confirmed_by,
       dag_run_id,
       recorded_at
  FROM kline_gap;
