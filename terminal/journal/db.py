"""Opening the journal's SQLite file: durability settings, transactions, migrations.

Durability: WAL with ``synchronous=FULL`` fsyncs the log on every commit, so a commit that
returned survives power loss. The sqlite3 module's own transaction handling is switched off and
every transaction is begun explicitly: ``BEGIN IMMEDIATE`` for writes (the write lock is taken
before the last sequence number is read, so two writers can never pick the same one) and a
plain ``BEGIN`` for reads (one consistent snapshot).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from terminal.journal.models import JournalError
from terminal.journal.schema import SCHEMA_REVISION

BUSY_TIMEOUT_MS = 10_000
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_BEGIN_KEY = "ssn_begin"


def connect(path: Path) -> tuple[Engine, Connection]:
    """An engine and the one connection the journal keeps for its lifetime."""
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=NullPool,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    try:
        connection = engine.connect()
    except Exception as exc:
        engine.dispose()
        raise JournalError(f"cannot open journal {path}: {exc}") from exc
    return engine, connection


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    settings = {
        "journal_mode": ("WAL", "wal"),
        "synchronous": ("FULL", 2),
        "foreign_keys": ("ON", 1),
        "busy_timeout": (str(BUSY_TIMEOUT_MS), BUSY_TIMEOUT_MS),
    }
    for name, (value, expected) in settings.items():
        dbapi_connection.execute(f"PRAGMA {name} = {value}")
        actual = dbapi_connection.execute(f"PRAGMA {name}").fetchone()[0]
        if actual != expected:
            raise JournalError(f"journal needs PRAGMA {name}={value}, SQLite kept {actual!r}")


def _on_begin(connection: Connection) -> None:
    statement = connection.info.pop(_BEGIN_KEY, "BEGIN")
    connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]


def begin_write(connection: Connection) -> Any:
    """A write transaction: takes the database write lock at once."""
    connection.info[_BEGIN_KEY] = "BEGIN IMMEDIATE"
    return connection.begin()


def current_revision(connection: Connection) -> str | None:
    with connection.begin():
        exists = connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
        ).first()
        if exists is None:
            return None
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def migrate(connection: Connection) -> None:
    """Bring the schema to the newest revision, all in one transaction.

    At the newest revision (every open after the first) this is one small query: Alembic is
    imported only when there is something to do.
    """
    if current_revision(connection) == SCHEMA_REVISION:
        return
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    try:
        with begin_write(connection):
            command.upgrade(config, "head")
    except CommandError as exc:
        raise JournalError(
            f"journal schema cannot be upgraded ({exc}); was it written by a newer version?"
        ) from exc
    if current_revision(connection) != SCHEMA_REVISION:
        raise JournalError("journal schema is not at the revision this code knows")


def fsync_directory(path: Path) -> None:
    """Make a newly created file's directory entry durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
