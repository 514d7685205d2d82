"""Named monotonic counters kept in the database, so numbers stay unique across restarts and
across gateway processes (the row is locked by the UPDATE until the transaction ends)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from host_gateway.models import Counter

TERMINAL_NUMBER = "terminal_number"
CERTIFICATE_SERIAL = "certificate_serial"
HOTLIST_VERSION = "hotlist_version"
LOADS_VERSION = "loads_version"
CARD_SERIAL = "card_serial"
SHOP_NUMBER = "shop_number"


def next_value(session: Session, name: str) -> int:
    value = session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one_or_none()
    if value is None:
        session.add(Counter(name=name, value=1))
        session.flush()
        return 1
    return int(value)


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
