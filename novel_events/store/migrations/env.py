"""Alembic environment: runs on the connection handed over by ``novel_events.store.migrate``."""

from __future__ import annotations

from alembic import context

from novel_events.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via novel_events.store.migrate
    raise RuntimeError("run migrations through novel_events.store.migrate.upgrade(engine)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
