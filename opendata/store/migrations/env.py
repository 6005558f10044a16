"""Alembic's entry point: always run online, on the connection `opendata.store.schema` hands in
(no alembic.ini, no URL of its own), so every room's tables migrate through one history."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
