"""What every part of the journal shares: the one connection, the lock, transactions, faults."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from ledger.crypto import SigningKey
from terminal.journal.db import begin_write
from terminal.journal.models import FaultHook, JournalError


class JournalBase:
    """Holds the connection; every public operation runs in :meth:`_writing` or :meth:`_reading`."""

    def __init__(
        self,
        path: Path,
        engine: Engine,
        connection: Connection,
        key: SigningKey,
        terminal_id: str,
        fault_hook: FaultHook | None,
    ) -> None:
        self.path = path
        self.terminal_id = terminal_id
        self.public_key = key.public_key
        self._engine = engine
        self._connection: Connection | None = connection
        self._key = key
        self._fault_hook = fault_hook
        self._lock = threading.RLock()
        self._driver_connection: sqlite3.Connection | None = cast(
            sqlite3.Connection, connection.connection.driver_connection
        )

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._driver_connection = None
                self._connection.close()
                self._connection = None
                self._engine.dispose()

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[Connection]:
        """One write transaction: committed (and fsynced) on exit, rolled back on any error."""
        with self._lock:
            conn = self._open_connection()
            try:
                with begin_write(conn):
                    yield conn
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise JournalError(f"{what} failed and changed nothing: {_why(exc)}") from exc

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """One read transaction: a consistent snapshot, even while another process writes."""
        with self._lock:
            conn = self._open_connection()
            try:
                with conn.begin():
                    yield conn
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise JournalError(f"journal read failed: {_why(exc)}") from exc

    def _open_connection(self) -> Connection:
        if self._connection is None:
            raise JournalError("journal is closed")
        return self._connection

    @contextlib.contextmanager
    def _writing_direct(self, what: str) -> Iterator[sqlite3.Connection]:
        """A write transaction straight on the sqlite3 connection, for the sale's path.

        SQLAlchemy's execution and transaction machinery costs ~35 µs per statement on the
        terminal's hardware, ten times SQLite itself; the sale path runs nine statements, so it
        talks to the driver of the same connection (SQLAlchemy holds no transaction meanwhile:
        every other operation runs inside the same lock). Same guarantees as :meth:`_writing`.
        """
        with self._lock:
            driver = self._driver_connection
            if driver is None:
                raise JournalError("journal is closed")
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise JournalError(f"{what} failed and changed nothing: {exc}") from exc
            try:
                yield driver
                driver.execute("COMMIT")
            except BaseException as exc:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise JournalError(f"{what} failed and changed nothing: {exc}") from exc
                raise

    @contextlib.contextmanager
    def _reading_direct(self) -> Iterator[sqlite3.Connection]:
        """Reads on the sale's path straight on the sqlite3 connection (see
        :meth:`_writing_direct`). Outside a transaction each statement is its own consistent
        snapshot, so a read that needs one snapshot is written as one statement."""
        with self._lock:
            driver = self._driver_connection
            if driver is None:
                raise JournalError("journal is closed")
            try:
                yield driver
            except sqlite3.Error as exc:
                raise JournalError(f"journal read failed: {exc}") from exc

    def _driver(self) -> sqlite3.Connection:
        """The sqlite3 connection under the journal's SQLAlchemy connection (tests, audit)."""
        if self._driver_connection is None:
            raise JournalError("journal is closed")
        return self._driver_connection

    def _fault(self, point: str) -> None:
        if self._fault_hook is not None:
            self._fault_hook(point)


def _why(exc: Exception) -> str:
    """SQLite's own message (a trigger's text, a constraint name) without SQLAlchemy's noise."""
    return str(getattr(exc, "orig", None) or exc)
