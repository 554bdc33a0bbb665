-- The accounts whose balances the warehouse holds: Binance accounts the ETL reads (one Airflow connection each,
-- BINANCE_ETL_ACCOUNTS; connection_id is it) and accounts imported from other systems (connection_id: the
-- source's connection, if any). Who may see an account's balances is who may read its connection.
CREATE TABLE IF NOT EXISTS dim_account (
    account       VARCHAR(64)  NOT NULL PRIMARY KEY,
    kind          VARCHAR(16)  NOT NULL,
    connection_id VARCHAR(250) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
