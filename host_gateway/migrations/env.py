"""Alembic environment: runs on the connection the gateway hands over (see host_gateway.db)."""

from __future__ import annotations

from alembic import context

from host_gateway.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through host_gateway.db.migrate (ssn-gateway init)")
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
