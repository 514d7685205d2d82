"""Alembic environment for the journal: always runs on the connection the journal hands over,
inside the journal's own transaction, so a migration is all or nothing."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("journal migrations run only through terminal.journal (no alembic.ini)")

context.configure(
    connection=connection,
    target_metadata=None,
    transactional_ddl=True,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
