"""One statement for many rows, executed by the database driver's own executemany.

SQLAlchemy builds and type-converts a parameter dictionary per row of an executemany; for
ingest (a host row and eight GPU rows a report) that was the largest part of the writer's CPU
time. A ``Bulk`` compiles its statement once per dialect, converts values with the columns'
own bind processors (the same conversion SQLAlchemy applies, so what is stored is identical),
reuses one conversion for a value repeated across rows (a report's time in all its GPU rows),
and hands the driver plain tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    keys: tuple[str, ...]
    processors: tuple[Processor, ...]


class Bulk:
    """``statement`` with bind parameters named by ``keys`` (an INSERT's columns, or an
    UPDATE's ``bindparam`` names); rows are mappings with those keys."""

    def __init__(self, statement: UpdateBase, keys: Sequence[str]) -> None:
        self._statement = statement
        self._keys = list(keys)
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            compiled = self._statement.compile(dialect=dialect, column_keys=self._keys)
            if not compiled.positional or compiled.positiontup is None:
                raise TypeError(f"{dialect.name}: Bulk needs a positional parameter style")
            keys = tuple(compiled.positiontup)
            processors = tuple(
                compiled.binds[key].type.dialect_impl(dialect).bind_processor(dialect)
                for key in keys
            )
            plan = self._plans[dialect.name] = _Plan(compiled.string, keys, processors)
        return plan

    async def execute(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        plan = self._plan(conn.dialect)
        converting: list[tuple[int, Callable[[Any], Any], dict[int, Any]]] = [
            (i, p, {}) for i, p in enumerate(plan.processors) if p is not None
        ]
        params = []
        for row in rows:
            values = [row[key] for key in plan.keys]
            for i, process, done in converting:
                raw = values[i]
                if raw is not None:
                    # By identity: the same object in many rows is converted once (it stays
                    # referenced by the rows, so its id is not reused meanwhile).
                    value = done.get(id(raw), _UNSEEN)
                    if value is _UNSEEN:
                        value = done[id(raw)] = process(raw)
                    values[i] = value
            params.append(tuple(values))
        await conn.exec_driver_sql(plan.sql, params)


_UNSEEN = object()
