"""The ETL: the DAGs' steps over a run's window and folder (extract, stage, load), kline extraction, the
reconciliation with Binance, the run report and notifications, the inbox and forecast steps, the timetable.
It joins the Binance client and the warehouse; the DAG files only wire its steps."""
