"""Alembic environment: runs on the connection handed over by :func:`server.database.migrate`."""

from __future__ import annotations

from alembic import context

import server.models  # noqa: F401  (registers every table on Base.metadata)
from server.database import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `examroom migrate`")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
