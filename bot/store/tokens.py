"""Tokens (host, fleet, read): shown once at creation, stored as SHA-256 digests, compared in
constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dlbot.bot.store.models import AgentToken, table
from dlbot.wire import utc_now

Scope = Literal["host", "fleet", "read"]
SCOPES: tuple[Scope, ...] = ("host", "fleet", "read")
PREFIX = "dlb_"


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for: one host, any host of a fleet, or nobody (``read``: it
    may read the fleet, never write)."""

    token_id: int
    scope: Scope
    host_name: str | None

    def may_report_for(self, host: str) -> bool:
        return self.scope == "fleet" or (self.scope == "host" and self.host_name == host)


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    scope: str
    host_name: str | None
    created_at: datetime
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(engine: AsyncEngine, scope: Scope, name: str) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        await conn.execute(
            table(AgentToken)
            .insert()
            .values(
                name=name,
                scope=scope,
                host_name=name if scope == "host" else None,
                digest=digest(token),
                created_at=utc_now(),
            )
        )
    return token


async def list_tokens(engine: AsyncEngine) -> list[TokenRecord]:
    t = table(AgentToken)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                t.c.id, t.c.name, t.c.scope, t.c.host_name, t.c.created_at, t.c.revoked_at
            ).order_by(t.c.id)
        )
        return [TokenRecord(*row) for row in rows]


async def revoke_token(engine: AsyncEngine, token_id: int) -> bool:
    """Revoke by id; False when there is no such active token."""
    t = table(AgentToken)
    async with engine.begin() as conn:
        result = await conn.execute(
            t.update()
            .where(t.c.id == token_id, t.c.revoked_at.is_(None))
            .values(revoked_at=utc_now())
        )
    return bool(result.rowcount)


class TokenCache:
    """Valid tokens remembered for a few seconds, so ingest does not query the database on
    every request; a revoked token stops working within ``ttl`` seconds."""

    def __init__(self, engine: AsyncEngine, ttl: float = 10.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._valid: dict[str, tuple[Principal, float]] = {}

    async def authenticate(self, token: str) -> Principal | None:
        key = digest(token)
        now = time.monotonic()
        cached = self._valid.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        principal = await authenticate(self._engine, token)
        if principal is None:
            self._valid.pop(key, None)
        else:
            self._valid[key] = (principal, now + self._ttl)
        return principal


async def authenticate(engine: AsyncEngine, token: str) -> Principal | None:
    wanted = digest(token)
    t = table(AgentToken)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(t.c.id, t.c.scope, t.c.host_name, t.c.digest).where(
                    t.c.digest == wanted, t.c.revoked_at.is_(None)
                )
            )
        ).first()
    if row is None or not hmac.compare_digest(row.digest, wanted):
        return None
    scope: Scope = row.scope if row.scope in SCOPES else "read"
    return Principal(token_id=row.id, scope=scope, host_name=row.host_name)
