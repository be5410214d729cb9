"""Training runs on the server: event ingest, the runs table, and the queries /runs reads."""
