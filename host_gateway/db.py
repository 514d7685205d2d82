"""Opening the gateway database and bringing its schema up to date.

SQLite (the default, a file under the data directory) runs in WAL mode with full synchronous
commits and ``BEGIN IMMEDIATE`` so every write transaction takes the write lock up front (no
upgrade deadlocks between concurrent writers). A ``read_transaction`` begins deferred and
read-only instead: a WAL reader never waits for the writer, so health, refused requests and
``check`` answer while an ingest holds the lock. PostgreSQL is used by URL. Nothing connects
until a caller asks for an engine.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "ssn_read_only"
"""Execution option marking a read transaction (see ``read_transaction``)."""

BUSY_TIMEOUT = 30.0
"""Seconds an SQLite writer waits for the write lock before the database counts as busy."""

INGEST_LOCK_ID = 0x55534E01
"""PostgreSQL advisory lock of ingest: held shared by every ingest batch, exclusive by a writer
that must exclude all of them at once (card evidence)."""
INGEST_KEY_SPACE = 0x55534E02
"""First key of the two-key advisory locks ingest takes per terminal and per card."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    """An engine for ``url``; a bad URL raises ValueError with the reason."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ValueError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )
        _configure_sqlite(engine, busy_timeout)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}: sqlite or postgresql"
        )
    return create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=8)


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # Deferred: a WAL reader takes no lock. query_only makes a stray write fail at once
        # instead of waiting for the write lock; the pool resets it when the connection returns.
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("PRAGMA query_only=1")
        connection.connection.info[READ_ONLY] = True

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(READ_ONLY, False):
            dbapi_connection.execute("PRAGMA query_only=0")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of reading that never waits for a writer and writes nothing (rolled back at the
    end): on SQLite a deferred, query-only transaction; on PostgreSQL a READ ONLY one. A write
    inside it fails at once (see ``is_read_only_refusal``)."""
    with factory() as session:
        session.connection(execution_options={READ_ONLY: True, "postgresql_readonly": True})
        try:
            yield session
        finally:
            session.rollback()


def is_read_only_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is the database refusing a write inside a ``read_transaction``."""
    text_ = str(getattr(exc, "orig", exc)).lower()
    return "readonly database" in text_ or "read-only transaction" in text_


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is busy or unreachable (worth a retry later)."""
    return isinstance(exc, OperationalError) and not is_read_only_refusal(exc)


def lock_ingest(session: Session) -> None:
    """Exclude every ingest batch, across processes (SQLite's BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": INGEST_LOCK_ID})


def lock_ingest_keys(session: Session, terminal_id: str, cards: Iterable[str]) -> None:
    """What one ingest batch must decide alone: its terminal (the chain, its record ids) and
    its cards (counters, balances, loads, status). Batches of other terminals and other cards
    go on at once on PostgreSQL; SQLite has one writer (BEGIN IMMEDIATE). Locks are taken in
    key order, so two batches cannot each hold one the other waits for; a hash collision only
    makes two batches wait for each other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_lock_key("terminal", terminal_id)} | {_lock_key("card", c) for c in cards})
    connection = session.connection()
    connection.execute(text("SELECT pg_advisory_xact_lock_shared(:id)"), {"id": INGEST_LOCK_ID})
    connection.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(:space, k))"
            " FROM (SELECT unnest(CAST(:keys AS integer[])) AS k ORDER BY 1) AS sorted"
        ),
        {"space": INGEST_KEY_SPACE, "keys": keys},
    )


def _lock_key(kind: str, name: str) -> int:
    """A signed 32-bit advisory lock key for a terminal or card."""
    digest = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("host_gateway") / "migrations"))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest migration, or to ``revision`` (idempotent)."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (tests of a migration's way back)."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def schema_is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as connection:  # a reader: never waits for the write lock
        reader = connection.execution_options(**{READ_ONLY: True})
        current = MigrationContext.configure(reader).get_current_revision()
    return current == head


def bulk_insert(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows fast, in the session's transaction, straight through the driver:
    SQLite's executemany runs in C; on PostgreSQL one COPY replaces a round trip per row.
    Every row has the same keys; values are plain ints, bytes, text, booleans or None."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    columns = list(rows[0])
    driver = session.connection().connection.driver_connection
    assert driver is not None
    if session.get_bind().dialect.name != "postgresql":
        marks = ", ".join("?" for _ in columns)
        values = operator.itemgetter(*columns)  # a tuple per row, in C
        sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({marks})'
        driver.executemany(
            sql, map(values, rows) if len(columns) > 1 else ((values(r),) for r in rows)
        )
        return
    names = ", ".join(f'"{name}"' for name in columns)
    # Binary COPY: bytes go as they are (text COPY hex-escapes them, and PostgreSQL parses the
    # hex back: twice the cost for a stored record of ~700 bytes).
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy,
    ):
        copy.set_types(_postgres_types(session.get_bind().dialect, table, tuple(columns)))
        for row in rows:
            copy.write_row([row[name] for name in columns])


@functools.lru_cache(maxsize=256)
def _postgres_types(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> list[str]:
    """The PostgreSQL type of each column (binary COPY needs them exactly), e.g. "varchar"."""
    return [table.c[name].type.compile(dialect=dialect).split("(")[0].lower() for name in columns]
