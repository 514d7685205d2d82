"""Hot-path SQL of ingest, straight through the session's driver connection.

An ingest batch asks a handful of questions about hundreds of keys at once (which of these ids
are held, these cards' counters, ...). Through SQLAlchemy each answer costs milliseconds of
parameter expansion and row processing; through the driver it costs what the database does. The
statements run on the session's own connection, so they are inside its transaction. SQL is
written once with ``?`` placeholders; lists of keys become ``IN (?, ...)`` on SQLite and one array
parameter (``unnest``) on PostgreSQL, which plans once whatever the list's length and joins
rather than scanning the list for every row. Arrays go in PostgreSQL's binary format: in the text
format psycopg quotes every element (a regular expression per text element, hex per bytea),
which cost more than the statements themselves (about 8 us per bytea element).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

Row = tuple[Any, ...]


class Raw:
    def __init__(self, session: Session) -> None:
        self.postgres = session.get_bind().dialect.name == "postgresql"
        driver = session.connection().connection.driver_connection
        assert driver is not None
        self._driver = driver

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if not self.postgres:
            return list(self._driver.execute(sql, tuple(params)).fetchall())
        with self._driver.cursor() as cursor:
            cursor.execute(_placeholders(sql, params), tuple(params))
            return list(cursor.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if not self.postgres:
            self._driver.execute(sql, tuple(params))
            return
        with self._driver.cursor() as cursor:
            cursor.execute(_placeholders(sql, params), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """SQLite only (PostgreSQL takes arrays through :meth:`execute` instead)."""
        assert not self.postgres
        self._driver.executemany(sql, rows)

    def any_of(self, column: str, values: Sequence[Any], sql_type: str) -> tuple[str, list[Any]]:
        """A condition "column is one of values" and its parameters."""
        if self.postgres:
            return f"{column} IN (SELECT unnest(?::{sql_type}[]))", [list(values)]
        if not values:
            return "0", []
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)

    def pair_in(
        self, columns: tuple[str, str], pairs: Sequence[tuple[Any, Any]], types: tuple[str, str]
    ) -> tuple[str, list[Any]]:
        """A condition "(a, b) is one of pairs" and its parameters."""
        a, b = columns
        if self.postgres:
            firsts, seconds = [p[0] for p in pairs], [p[1] for p in pairs]
            condition = f"({a}, {b}) IN (SELECT * FROM unnest(?::{types[0]}[], ?::{types[1]}[]))"
            return condition, [firsts, seconds]
        if not pairs:
            return "0", []
        values = ", ".join("(?, ?)" for _ in pairs)
        return f"({a}, {b}) IN (VALUES {values})", [v for pair in pairs for v in pair]

    def pairs_table(
        self,
        name: str,
        columns: tuple[str, str],
        pairs: Sequence[tuple[Any, Any]],
        types: tuple[str, str],
    ) -> tuple[str, list[Any]]:
        """``WITH name(a, b) AS (...)`` holding ``pairs`` (not empty), to join or correlate on
        when each pair needs its own answer (a "nearest below" lookup, say)."""
        a, b = columns
        if self.postgres:
            firsts, seconds = [p[0] for p in pairs], [p[1] for p in pairs]
            source = f"SELECT * FROM unnest(?::{types[0]}[], ?::{types[1]}[])"
            return f"WITH {name}({a}, {b}) AS ({source})", [firsts, seconds]
        values = ", ".join("(?, ?)" for _ in pairs)
        return f"WITH {name}({a}, {b}) AS (VALUES {values})", [v for pair in pairs for v in pair]


def _placeholders(sql: str, params: Sequence[Any]) -> str:
    """psycopg placeholders for ``?``: binary (``%b``) for list parameters, ``%s`` otherwise."""
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(params)} parameters")
    marks = ["%b" if isinstance(value, list) else "%s" for value in params]
    return "".join(part + mark for part, mark in zip(parts, [*marks, ""], strict=True))
