-- Calendar dimension at hour grain (UTC). date_key = YYYYMMDDHH.
CREATE TABLE IF NOT EXISTS dim_date (
    date_key     INT UNSIGNED NOT NULL PRIMARY KEY,
    datetime_utc DATETIME     NOT NULL,
    `date`       DATE         NOT NULL,
    `year`       SMALLINT     NOT NULL,
    `quarter`    TINYINT      NOT NULL,
    `month`      TINYINT      NOT NULL,
    `day`        TINYINT      NOT NULL,
    `hour`       TINYINT      NOT NULL,
    weekday      VARCHAR(9)   NOT NULL,
    KEY ix_dim_date_date (`date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
