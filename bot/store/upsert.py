"""Dialect-aware INSERT ... ON CONFLICT for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def dialect_insert(conn: Connection | AsyncConnection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_conflicts(
    conn: Connection | AsyncConnection, table: Table, columns: Sequence[str]
) -> Any:
    return dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(columns))
