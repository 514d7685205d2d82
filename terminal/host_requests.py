"""What the host asks of this terminal, as the last sync left it in the journal.

- ``wanted``: card counters the host is missing (gaps in a card's history it must explain,
  docs/card-protocol.md "the host sees every counter"). When such a card is presented and its
  holder typed the PIN, the terminal reads those entries from the card's log after the receipt
  and uploads them as evidence. A forged list could only make the terminal read log entries, so
  it needs no signature.
- ``resolutions``: for this terminal's stuck intents, the card-signed message the host holds at
  the intent's counter (the terminal verifies it with the card's key itself), or the word that
  an operator settled it at the host.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from drivers.card.protocol import DebitRequest, LoadRequest
from ledger import canonical
from ledger.binary import FormatError
from ledger.cardnumber import validate_card_number
from terminal.journal import Journal

WANTED_DOCUMENT = "wanted"
RESOLUTIONS_DOCUMENT = "resolutions"


@dataclass(frozen=True)
class HostCard:
    """What the host, asked online when a card is presented, says about that one card: its
    pending loads (issuer-signed; a terminal downloads only those of cards it has served) and
    the counters of it the host is missing."""

    pending_loads: tuple[bytes, ...] = ()
    wanted_counters: tuple[int, ...] = ()
    next_aid: tuple[tuple[str, dt.date], ...] = ()
    """Per purse, when the next aid is due (the program's schedule)."""
    pin_unblocks: tuple[bytes, ...] = ()
    """Issuer-signed PIN-unblock orders for the card (verified before use)."""


AskHost = Callable[[str, int], "HostCard | None"]
"""The sale engine's port to the host: the card's view, or None (offline, slow, refused). Asked
with the card's number and the counter the card says it is at (the host then asks for the
counters above the last it holds: S5)."""


@dataclass(frozen=True)
class HostResolution:
    intent_id: uuid.UUID
    card_message: bytes | None
    settled_at_host: bool = False


def _next_version(journal: Journal, name: str) -> int:
    stored = journal.document(name)
    return (stored.version if stored else 0) + 1


def store_wanted(journal: Journal, rows: Iterable[Mapping[str, Any]], now: int) -> int:
    """Keep the host's list ``[{"card_number", "counters"}]``; returns how many counters."""
    wanted: dict[str, list[int]] = {}
    for row in rows:
        counters = sorted({int(c) for c in row["counters"]})
        if any(c <= 0 for c in counters):
            raise ValueError("a wanted counter must be positive")
        if counters:
            wanted[validate_card_number(str(row["card_number"]))] = counters
    value = {"cards": [{"card": card, "counters": c} for card, c in sorted(wanted.items())]}
    journal.put_document(
        WANTED_DOCUMENT, _next_version(journal, WANTED_DOCUMENT), canonical.encode(value), time=now
    )
    return sum(len(c) for c in wanted.values())


def all_wanted(journal: Journal) -> dict[str, tuple[int, ...]]:
    """Every card's wanted counters, as the last sync left them."""
    stored = journal.document(WANTED_DOCUMENT)
    if stored is None:
        return {}
    return {row["card"]: tuple(row["counters"]) for row in canonical.decode(stored.data)["cards"]}


def store_resolutions(journal: Journal, rows: Iterable[Mapping[str, Any]], now: int) -> int:
    """Keep ``[{"intent_id", "card_message"} | {"intent_id", "settled_at_host": true}]``."""
    value = []
    for row in rows:
        intent_id = uuid.UUID(str(row["intent_id"]))
        message = row.get("card_message")
        settled = row.get("settled_at_host") is True
        if settled and message is not None:
            raise ValueError("a resolution carries a card message or settled_at_host, not both")
        if not settled and message is None:
            continue  # nothing to act on yet
        if message is not None and not isinstance(message, bytes):
            raise ValueError("a resolution's card message must be bytes")
        value.append({"intent": intent_id.bytes, "message": message, "settled": settled})
    journal.put_document(
        RESOLUTIONS_DOCUMENT,
        _next_version(journal, RESOLUTIONS_DOCUMENT),
        canonical.encode({"resolutions": value}),
        time=now,
    )
    return len(value)


def intent_amounts(kind: str, request: bytes) -> dict[str, int]:
    """What an intent's card request asked per purse, for the host to weigh a settlement
    (nothing when the request cannot be read: the host then cannot settle it from balances)."""
    try:
        if kind == "sale":
            return dict(DebitRequest.decode(request).amounts)
        if kind == "load":
            authorization = LoadRequest.decode(request).authorization
            return {authorization.purse_code: authorization.amount}
    except FormatError:
        pass
    return {}


def resolutions(journal: Journal) -> dict[uuid.UUID, HostResolution]:
    stored = journal.document(RESOLUTIONS_DOCUMENT)
    if stored is None:
        return {}
    found = {}
    for row in canonical.decode(stored.data)["resolutions"]:
        intent_id = uuid.UUID(bytes=row["intent"])
        found[intent_id] = HostResolution(intent_id, row["message"], row["settled"])
    return found
