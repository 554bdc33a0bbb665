"""The Binance client: everything that talks to Binance (REST hook, signing, weight budget, transport retries,
archive files, the ping sensor). It knows nothing of the warehouse or the ETL."""
