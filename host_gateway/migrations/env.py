"""Alembic environment: runs on the connection the gateway hands over (see host_gateway.db)."""

from __future__ import annotations

from alembic import context

from host_gateway.models import Base
from host_gateway.web import models as _console_models  # noqa: F401  (its tables are Base's too)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through host_gateway.db.migrate (ssn-gateway init)")
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
