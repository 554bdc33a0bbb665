-- Rows that failed validation, with the reason; nothing is dropped silently.
CREATE TABLE IF NOT EXISTS etl_reject (
    dag_run_id   VARCHAR(250)  NOT NULL,
    table_name   VARCHAR(64)   NOT NULL,
    batch        VARCHAR(128)  NOT NULL DEFAULT 'load',
    symbol       VARCHAR(32)   NOT NULL,
    `interval`   VARCHAR(4) COLLATE utf8mb4_bin NOT NULL,  -- case-sensitive: 1m is a minute, 1M a month
    open_time_ms BIGINT        NULL,
    reason       VARCHAR(500)  NOT NULL,
    raw          VARCHAR(1000) NOT NULL,
    KEY ix_etl_reject_run (dag_run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
