"""The binance_import DAG's room: source specs resolved, sources read (files, any common.sql database), their rows
confirmed with Binance and loaded through the warehouse's transactional path."""
