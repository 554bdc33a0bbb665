-- Where each import source stands (its watermark): per file, the fingerprint of what was loaded; per table or
-- query, the highest cursor value read. Written in the load's own transaction, so a failed load moves nothing.
CREATE TABLE IF NOT EXISTS etl_import_state (
    source      VARCHAR(64)  NOT NULL,
    item        VARCHAR(255) NOT NULL,
    fingerprint CHAR(64)     NOT NULL,
    watermark   VARCHAR(64)  NULL,
    `interval`  VARCHAR(4) COLLATE utf8mb4_bin NULL,  -- case-sensitive: 1m is a minute, 1M a month
    rows_read   BIGINT       NOT NULL,
    updated_at  DATETIME(3)  NOT NULL,
    PRIMARY KEY (source, item)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
