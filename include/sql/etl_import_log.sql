-- One row per import run and source: what was read (and its checksum), what the exchange confirmed or corrected,
-- what was loaded and rejected. Written in the load's own transaction.
CREATE TABLE IF NOT EXISTS etl_import_log (
    dag_run_id   VARCHAR(250) NOT NULL,
    source       VARCHAR(64)  NOT NULL,
    target       VARCHAR(64)  NOT NULL,
    rows_read    BIGINT       NOT NULL,
    inserted     BIGINT       NOT NULL,
    updated      BIGINT       NOT NULL,
    unchanged    BIGINT       NOT NULL,
    equal        BIGINT       NOT NULL,
    corrected    BIGINT       NOT NULL,
    not_served   BIGINT       NOT NULL,
    open_dropped BIGINT       NOT NULL,
    rejected     BIGINT       NOT NULL,
    checksum     CHAR(64)     NOT NULL,
    finished_at  DATETIME(3)  NOT NULL,
    PRIMARY KEY (dag_run_id, source)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
