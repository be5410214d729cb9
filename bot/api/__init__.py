"""The HTTP API (FastAPI): report ingest, fleet, health and Prometheus metrics."""
