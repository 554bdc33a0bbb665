-- The accounts with balances, and the connection whose readers may see them.
SELECT account, COALESCE(connection_id, %(default_connection)s) AS connection_id FROM dim_account ORDER BY account
