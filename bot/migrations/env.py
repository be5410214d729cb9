"""Alembic environment: migrations run on a connection handed in by bot.store.migrate."""

from alembic import context

from dlbot.bot.store import (
    chat_models,  # noqa: F401  (registers its tables on Base.metadata)
    run_models,  # noqa: F401  (registers its tables on Base.metadata)
    sota_models,  # noqa: F401  (registers its tables on Base.metadata)
    usage_models,  # noqa: F401  (registers its tables on Base.metadata)
)
from dlbot.bot.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `dlbot db upgrade` (bot.store.migrate)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
