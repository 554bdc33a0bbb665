-- One row per DAG run, table and staging file (batch): what came in (rows_in = inserted + updated + unchanged),
-- what it changed, what was rejected.
CREATE TABLE IF NOT EXISTS etl_run_log (
    dag_run_id  VARCHAR(250) NOT NULL,
    table_name  VARCHAR(64)  NOT NULL,
    batch       VARCHAR(128) NOT NULL,
    rows_in     INT          NOT NULL,
    inserted    INT          NOT NULL,
    updated     INT          NOT NULL,
    unchanged   INT          NOT NULL DEFAULT 0,
    rejects     INT          NOT NULL,
    started_at  DATETIME(3)  NOT NULL,
    finished_at DATETIME(3)  NOT NULL,
    PRIMARY KEY (dag_run_id, table_name, batch)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
