"""The warehouse: connections and database name, the table registry (with each table's gate and Asset), schema
set-up, bulk loads, the check operator, roles and publishing. It knows nothing of Binance or the ETL."""
