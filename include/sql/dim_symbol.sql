-- Trading pairs from /api/v3/exchangeInfo.
CREATE TABLE IF NOT EXISTS dim_symbol (
    symbol      VARCHAR(32) NOT NULL PRIMARY KEY,
    base_asset  VARCHAR(20) NOT NULL,
    quote_asset VARCHAR(20) NOT NULL,
    status      VARCHAR(16) NOT NULL,
    updated_at  TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
