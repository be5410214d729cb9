"""Storage: SQLAlchemy 2 models, the engine, migrations and the queries the service runs."""
