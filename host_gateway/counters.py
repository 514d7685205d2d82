"""Named monotonic counters kept in the database, so numbers stay unique across restarts and
across gateway processes.

One statement does it (INSERT ... ON CONFLICT DO UPDATE ... RETURNING): the first use creates
the row and every later one increments it under the row lock until the transaction ends. An
UPDATE followed by an INSERT when nothing was updated is not safe: two processes using a counter
for the first time at once both insert, and one fails on the primary key."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from host_gateway.models import Counter

TERMINAL_NUMBER = "terminal_number"
CERTIFICATE_SERIAL = "certificate_serial"
HOTLIST_VERSION = "hotlist_version"
LOADS_VERSION = "loads_version"
CARD_SERIAL = "card_serial"
SHOP_NUMBER = "shop_number"


def next_value(session: Session, name: str) -> int:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Counter)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )
    return int(session.execute(statement).scalar_one())


def current_value(session: Session, name: str) -> int:
    value = session.scalar(select(Counter.value).where(Counter.name == name))
    return int(value or 0)


def advance(session: Session, name: str, count: int) -> int:
    """Take ``count`` values at once (a batch of loads); returns the last one taken."""
    last = 0
    if count:
        last = next_value(session, name)
        if count > 1:
            last = int(
                session.execute(
                    update(Counter)
                    .where(Counter.name == name)
                    .values(value=Counter.value + count - 1)
                    .returning(Counter.value)
                ).scalar_one()
            )
    return last
