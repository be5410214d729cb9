"""The async engine for the configured database; SQLite gets WAL and a busy timeout.

JSON columns are written and read with orjson: ingest writes every GPU's process list on every
report, and the standard library's encoder was the largest cost of the ingest writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import SingletonThreadPool


def make_engine(url: str, parallel_query: bool = True) -> AsyncEngine:
    """``parallel_query=False``: PostgreSQL runs each query in its one backend process, without
    parallel workers (for a background reader that should take one core at most)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **_JSON)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = (
        {} if parallel_query else {"server_settings": {"max_parallel_workers_per_gather": "0"}}
    )
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args=connect_args,
        **_JSON,
    )


def make_sync_engine(engine: AsyncEngine) -> Engine | None:
    """A one-connection sqlite3 engine on the same SQLite file as ``engine`` (the ingest
    writer's thread); None for other databases and for an in-memory SQLite database."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    sync = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": 30},
        poolclass=SingletonThreadPool,
        **_JSON,
    )
    event.listen(sync, "connect", _sqlite_pragmas)
    return sync


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


_JSON: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
