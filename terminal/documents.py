"""The issuer's documents as the terminal holds them: catalog, hotlist and pending loads.

Each arrives signed by the issuer authority (catalog and hotlist as
:class:`~ledger.documents.SignedDocument`, loads as individually signed authorizations), is
verified before it is stored in the journal, and is refused whole when anything is wrong: the
current one stays. The hotlist comes as deltas; the terminal keeps the merged list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ledger import canonical
from ledger.binary import FormatError
from ledger.cardnumber import validate_card_number
from ledger.cardproofs import BlockOrder, LoadAuthorization, PinUnblockOrder
from ledger.catalog import Catalog
from ledger.documents import DocumentError, SignedDocument
from ledger.wire import CATALOG_KIND, CONFIG_KIND, HOTLIST_KIND, LOADS_KIND
from terminal.config import RiskLimits
from terminal.journal import Journal


@dataclass(frozen=True)
class HostConfig:
    """What the host's signed config document sets for every terminal."""

    risk: RiskLimits
    split_tender: bool

    @classmethod
    def from_document(cls, document: SignedDocument) -> HostConfig:
        try:
            risk = document.content["risk"]
            limits = RiskLimits(
                max_offline_sale=int(risk["max_offline_sale"]),
                max_offline_total=int(risk["max_offline_total"]),
                max_offline_hours=int(risk["max_offline_hours"]),
            )
            return cls(limits, bool(document.content["allow_cash_split"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DocumentError(f"config document refused: {exc}") from exc


def current_host_config(
    journal: Journal, authority_keys: Mapping[bytes, bytes]
) -> HostConfig | None:
    """The config the last sync stored (verified again), or None before the first one."""
    stored = journal.document(CONFIG_KIND)
    if stored is None:
        return None
    return HostConfig.from_document(
        SignedDocument.decode_verified(stored.data, CONFIG_KIND, authority_keys)
    )


def install_catalog(
    journal: Journal, authority_keys: Mapping[bytes, bytes], data: bytes, now: int
) -> Catalog:
    """Verify and store a catalog; raises DocumentError (and keeps the current one) otherwise."""
    current = journal.document(CATALOG_KIND)
    document = SignedDocument.decode_verified(
        data, CATALOG_KIND, authority_keys, newer_than=current.version if current else 0
    )
    catalog = Catalog.from_document(document)
    journal.put_document(CATALOG_KIND, document.version, data, time=now)
    return catalog


def current_catalog(journal: Journal, authority_keys: Mapping[bytes, bytes]) -> Catalog | None:
    stored = journal.document(CATALOG_KIND)
    if stored is None:
        return None
    document = SignedDocument.decode_verified(stored.data, CATALOG_KIND, authority_keys)
    return Catalog.from_document(document)


@dataclass(frozen=True)
class HotlistEntry:
    card_number: str
    reason: int
    block_order: BlockOrder | None


@dataclass(frozen=True)
class Hotlist:
    version: int
    entries: Mapping[str, HotlistEntry]

    def get(self, card_number: str) -> HotlistEntry | None:
        return self.entries.get(card_number)

    def to_value(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "entries": [
                {
                    "card": e.card_number,
                    "reason": e.reason,
                    "block_order": e.block_order.encode() if e.block_order else None,
                }
                for e in sorted(self.entries.values(), key=lambda e: e.card_number)
            ],
        }

    @classmethod
    def from_value(cls, value: Any) -> Hotlist:
        entries = {}
        for row in value["entries"]:
            order = BlockOrder.decode(row["block_order"]) if row["block_order"] else None
            entries[row["card"]] = HotlistEntry(row["card"], row["reason"], order)
        return cls(value["version"], entries)


EMPTY_HOTLIST = Hotlist(0, {})


def current_hotlist(journal: Journal) -> Hotlist:
    stored = journal.document(HOTLIST_KIND)
    if stored is None:
        return EMPTY_HOTLIST
    return Hotlist.from_value(canonical.decode(stored.data))


def apply_hotlist_delta(
    journal: Journal, authority_keys: Mapping[bytes, bytes], data: bytes, now: int
) -> Hotlist:
    """Merge a signed delta ``{"since", "entries"}`` into the held hotlist.

    A delta for another starting version than the one held is refused (ask again since the
    held version); so is one with a bad signature, a malformed entry or a block order that the
    issuer did not sign for that card.
    """
    held = current_hotlist(journal)
    document = SignedDocument.decode_verified(
        data, HOTLIST_KIND, authority_keys, newer_than=held.version
    )
    try:
        since = document.content["since"]
        rows = document.content["entries"]
        if since != held.version:
            raise DocumentError(
                f"hotlist delta starts at {since}, the terminal holds {held.version}"
            )
        entries = dict(held.entries)
        for row in rows:
            card = validate_card_number(row["card"])
            if row["action"] == "remove":
                entries.pop(card, None)
                continue
            if row["action"] != "add":
                raise DocumentError(f"unknown hotlist action {row['action']!r}")
            order = None
            if row.get("block_order"):
                order = BlockOrder.decode(row["block_order"])
                key = authority_keys.get(order.issuer_key_id)
                if order.card_number != card or key is None or not order.verify(key):
                    raise DocumentError(f"block order for {card[-4:]} is not the issuer's")
            entries[card] = HotlistEntry(card, int(row["reason"]), order)
    except (KeyError, TypeError, ValueError, FormatError) as exc:
        raise DocumentError(f"hotlist delta refused: {exc}") from exc
    merged = Hotlist(document.version, entries)
    journal.put_document(
        HOTLIST_KIND, merged.version, canonical.encode(merged.to_value()), time=now
    )
    return merged


def pending_loads(journal: Journal) -> list[LoadAuthorization]:
    stored = journal.document(LOADS_KIND)
    if stored is None:
        return []
    return [LoadAuthorization.decode(raw) for raw in canonical.decode(stored.data)["loads"]]


_O = TypeVar("_O", LoadAuthorization, PinUnblockOrder)


def _issuers(raws: list[bytes], keys: Mapping[bytes, bytes], kind: type[_O], what: str) -> list[_O]:
    """Decode issuer orders of one kind; DocumentError unless each is the issuer's."""
    decoded = []
    for raw in raws:
        try:
            order = kind.decode(raw)
        except FormatError as exc:
            raise DocumentError(f"malformed {what}: {exc}") from exc
        key = keys.get(order.issuer_key_id)
        if key is None or not order.verify(key):
            raise DocumentError(f"a {what} is not signed by the issuer")
        decoded.append(order)
    return decoded


def verified_loads(
    loads: list[bytes], authority_keys: Mapping[bytes, bytes]
) -> list[LoadAuthorization]:
    """Decode load authorizations; DocumentError unless each is the issuer's."""
    return _issuers(loads, authority_keys, LoadAuthorization, "load authorization")


def store_pending_loads(
    journal: Journal,
    authority_keys: Mapping[bytes, bytes],
    version: int,
    loads: list[bytes],
    now: int,
) -> list[LoadAuthorization]:
    """Keep the loads the host says are pending; each must carry the issuer's signature."""
    decoded = verified_loads(loads, authority_keys)
    value = {"loads": [auth.encode() for auth in decoded]}
    journal.put_document(LOADS_KIND, version, canonical.encode(value), time=now)
    return decoded


PIN_UNBLOCKS_DOCUMENT = "pin_unblocks"


def verified_pin_unblocks(
    orders: list[bytes], authority_keys: Mapping[bytes, bytes]
) -> list[PinUnblockOrder]:
    """Decode PIN-unblock orders; DocumentError unless each is the issuer's."""
    return _issuers(orders, authority_keys, PinUnblockOrder, "PIN-unblock order")


def store_pin_unblocks(
    journal: Journal, authority_keys: Mapping[bytes, bytes], orders: list[bytes], now: int
) -> list[PinUnblockOrder]:
    """Keep the host's whole list of open PIN-unblock orders; each must be the issuer's."""
    decoded = verified_pin_unblocks(orders, authority_keys)
    stored = journal.document(PIN_UNBLOCKS_DOCUMENT)
    version = (stored.version if stored else 0) + 1
    value = {"orders": [order.encode() for order in decoded]}
    journal.put_document(PIN_UNBLOCKS_DOCUMENT, version, canonical.encode(value), time=now)
    return decoded


def pending_pin_unblocks(journal: Journal) -> list[PinUnblockOrder]:
    stored = journal.document(PIN_UNBLOCKS_DOCUMENT)
    if stored is None:
        return []
    return [PinUnblockOrder.decode(raw) for raw in canonical.decode(stored.data)["orders"]]
