"""What terminals download: the signed catalog and config, hotlist deltas, pending loads.

Catalog and config are whole signed documents, one per version, signed once when published.
The hotlist is sent as a delta signed on request: ``{"since", "entries"}`` at the current version,
so a terminal that holds version ``since`` gets exactly the changes after it and the signature
binds the two (a delta cannot pass for a full list). Loads need no document signature: each load
authorization is signed by the authority on its own. A terminal gets the pending loads only of
the cards it has served (S4: no terminal downloads the whole city's list).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from host_gateway import counters
from host_gateway.errors import GatewayError, not_found
from host_gateway.fastsql import Raw
from host_gateway.models import (
    Card,
    HotlistEntry,
    HotlistFetch,
    Load,
    LoadSupersession,
    PublishedDocument,
    Terminal,
    TerminalCard,
)
from host_gateway.pki import IssuerKeys
from ledger.binary import FormatError
from ledger.catalog import Catalog
from ledger.documents import DocumentError, SignedDocument
from ledger.wire import CATALOG_KIND, CONFIG_KIND, HOTLIST_KIND

LOADS_PAGE = 5_000

DEFAULT_CONFIG: dict[str, Any] = {
    "risk": {
        "max_offline_sale": 500_000,
        "max_offline_total": 5_000_000,
        "max_offline_hours": 72,
    },
    "sync_interval_seconds": 60,
    "allow_cash_split": True,
}


def _check_config(content: Mapping[str, Any]) -> None:
    """Config content: the keys of DEFAULT_CONFIG with values of the same kinds, nothing else."""

    def walk(value: Any, template: Any, path: str) -> None:
        if isinstance(template, dict):
            if not isinstance(value, dict) or set(value) != set(template):
                raise GatewayError(
                    "invalid", f"config {path or 'root'} needs keys {sorted(template)}"
                )
            for key in template:
                walk(value[key], template[key], f"{path}.{key}".lstrip("."))
        elif isinstance(template, bool):
            if not isinstance(value, bool):
                raise GatewayError("invalid", f"config {path} must be true or false")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise GatewayError("invalid", f"config {path} must be a non-negative integer")

    walk(content, DEFAULT_CONFIG, "")


def latest_version(session: Session, kind: str) -> int:
    value = session.scalar(
        select(func.max(PublishedDocument.version)).where(PublishedDocument.kind == kind)
    )
    return int(value or 0)


def latest_document(session: Session, kind: str) -> tuple[int, bytes] | None:
    row = session.scalars(
        select(PublishedDocument)
        .where(PublishedDocument.kind == kind)
        .order_by(PublishedDocument.version.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.version, row.data)


def _publish(
    session: Session, keys: IssuerKeys, kind: str, content: Mapping[str, Any], now: int
) -> SignedDocument:
    version = latest_version(session, kind) + 1
    try:
        document = SignedDocument.sign(kind, version, now, content, keys.authority)
        data = document.encode()
    except FormatError as exc:
        raise GatewayError("invalid", f"{kind} content cannot be signed: {exc}") from exc
    session.add(PublishedDocument(kind=kind, version=version, data=data, published=now))
    session.flush()
    return document


def publish_catalog(
    session: Session, keys: IssuerKeys, content: Mapping[str, Any], now: int
) -> Catalog:
    """Validate the whole catalog first: any bad row refuses it and nothing is published."""
    version = latest_version(session, CATALOG_KIND) + 1
    probe = SignedDocument.sign(CATALOG_KIND, version, now, {}, keys.authority)
    try:
        Catalog.from_document(
            SignedDocument(CATALOG_KIND, version, now, content, probe.key_id, probe.signature)
        )
    except DocumentError as exc:
        raise GatewayError("invalid", str(exc)) from exc
    return Catalog.from_document(_publish(session, keys, CATALOG_KIND, content, now))


def publish_config(
    session: Session, keys: IssuerKeys, content: Mapping[str, Any], now: int
) -> SignedDocument:
    _check_config(content)
    return _publish(session, keys, CONFIG_KIND, content, now)


def load_json_file(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GatewayError("invalid", f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise GatewayError("invalid", f"{what} must be a JSON object")
    return value


class CatalogCache:
    """Published catalogs never change: parse and verify each version once per process."""

    def __init__(self, authority_keys: Mapping[bytes, bytes]) -> None:
        self._authority_keys = authority_keys
        self._catalogs: dict[int, Catalog] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, version: int) -> Catalog | None:
        with self._lock:
            cached = self._catalogs.get(version)
        if cached is not None:
            return cached
        data = session.scalar(
            select(PublishedDocument.data).where(
                PublishedDocument.kind == CATALOG_KIND, PublishedDocument.version == version
            )
        )
        if data is None:
            return None
        document = SignedDocument.decode_verified(data, CATALOG_KIND, self._authority_keys)
        catalog = Catalog.from_document(document)
        with self._lock:
            self._catalogs[version] = catalog
        return catalog


def hotlist_version(session: Session) -> int:
    return counters.current_value(session, counters.HOTLIST_VERSION)


def hotlist_delta(session: Session, keys: IssuerKeys, since: int, now: int) -> SignedDocument:
    version = hotlist_version(session)
    rows = session.scalars(
        select(HotlistEntry).where(HotlistEntry.version > since).order_by(HotlistEntry.version)
    )
    entries = [
        {
            "version": row.version,
            "card": row.card_number,
            "action": row.action,
            "reason": row.reason,
            "block_order": row.block_order,
        }
        for row in rows
    ]
    return SignedDocument.sign(
        HOTLIST_KIND, version, now, {"since": since, "entries": entries}, keys.authority
    )


def note_hotlist_fetch(
    session: Session, terminal_id: str, version: int, claimed: int | None, now: int
) -> None:
    """Remember that this terminal held hotlist ``version`` from a journal position on: sales
    after it of the cards named are refused (ingest rule ``card_hotlisted``).

    The position is the terminal's ``claimed`` last seq capped by the end of its contiguous chain
    at the host, and that end when there is no claim. A higher claim cannot be believed: it
    would excuse sales made after the download. Every seq up to that end is already held, so no
    later sale can take one, and an honest terminal uploads before it downloads, so for it the
    claim and the end agree.

    Only the first fetch of a version matters (the rule takes the earliest position), so
    repeated syncs without hotlist changes add no rows."""
    known = session.scalar(
        select(HotlistFetch.id).where(
            HotlistFetch.terminal_id == terminal_id, HotlistFetch.version >= version
        )
    )
    if known is None:
        held = session.get_one(Terminal, terminal_id).contiguous_seq
        seq = held if claimed is None else min(claimed, held)
        session.add(HotlistFetch(terminal_id=terminal_id, version=version, seq=seq, at=now))


@dataclass(frozen=True)
class LoadsDelta:
    version: int
    pending: list[Load]
    applied: list[Load]
    more: bool


def note_served(session: Session, terminal_id: str, cards: list[str]) -> None:
    """Remember that this terminal served these cards: from now on it gets their pending loads
    and the counters the host misses of them. A card joins at a new loads version, so the
    terminal's next download brings the card's older pending loads too."""
    if not cards:
        return
    raw = Raw(session)
    condition, params = raw.any_of("card_number", cards, "text")
    known = {
        number
        for (number,) in raw.rows(
            f"SELECT card_number FROM terminal_cards WHERE terminal_id = ? AND {condition}",
            [terminal_id, *params],
        )
    }
    new = [number for number in cards if number not in known]
    if not new:
        return
    version = counters.next_value(session, counters.LOADS_VERSION)
    insert = (
        "INSERT INTO terminal_cards (terminal_id, card_number, added_version) {}"
        " ON CONFLICT DO NOTHING"
    )
    if raw.postgres:
        raw.execute(insert.format("SELECT ?, unnest(?::text[]), ?"), [terminal_id, new, version])
    else:
        raw.executemany(insert.format("VALUES (?, ?, ?)"), [(terminal_id, n, version) for n in new])


def assign_card(session: Session, card_number: str, shop_id: str) -> list[str]:
    """The holder is registered at this shop: its terminals serve the card from now on (they
    carry its pending loads offline). Returns those terminals."""
    if session.get(Card, card_number) is None:
        raise not_found(f"card {card_number}")
    terminals = list(
        session.scalars(
            select(Terminal.id)
            .where(Terminal.shop_id == shop_id, Terminal.revoked_at.is_(None))
            .order_by(Terminal.id)
        )
    )
    if not terminals:
        raise GatewayError("invalid", f"shop {shop_id} has no enrolled terminal")
    for terminal_id in terminals:
        note_served(session, terminal_id, [card_number])
    return terminals


def loads_delta(
    session: Session, terminal_id: str, since: int, limit: int = LOADS_PAGE
) -> LoadsDelta:
    """Loads of the cards this terminal served (S4: not the whole city's), changed after version
    ``since``: a load counts at its own version or, if later, the version its card joined the
    terminal's cards at. A page ends between versions, never inside one."""
    joined = TerminalCard.added_version
    effective = case((Load.version > joined, Load.version), else_=joined)
    rows = session.execute(
        select(Load, effective)
        .join(
            TerminalCard,
            (TerminalCard.card_number == Load.card_number)
            & (TerminalCard.terminal_id == terminal_id),
        )
        .where(
            or_(
                Load.version > since,
                and_(
                    joined > since,
                    Load.applied_record.is_(None),
                    Load.id.not_in(select(LoadSupersession.load_id)),
                ),
            )
        )
        .order_by(effective, Load.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    if more:
        last = rows[limit - 1][1]
        cut = [row for row in rows[:limit] if row[1] != last] if rows[limit][1] == last else []
        rows = cut or rows[:limit]
    version = int(rows[-1][1]) if rows else since
    loads = [load for load, _ in rows]
    gone = _superseded(session, [r.id for r in loads if r.applied_record is None])
    open_ = [r for r in loads if r.applied_record is None and r.id not in gone]
    return LoadsDelta(
        version=version,
        pending=open_,
        applied=[r for r in loads if r not in open_],  # taken, or carried away: drop them
        more=more,
    )


def pending_loads_of(session: Session, card_number: str) -> list[Load]:
    """The card's loads no receipt has closed yet, in sequence order."""
    return list(
        session.scalars(
            select(Load)
            .where(
                Load.card_number == card_number,
                Load.applied_record.is_(None),
                Load.id.not_in(select(LoadSupersession.load_id)),
            )
            .order_by(Load.load_seq)
        )
    )


def _superseded(session: Session, load_ids: list[int]) -> set[int]:
    """Which of these loads were carried away when their card ended (few or none)."""
    if not load_ids:
        return set()
    query = select(LoadSupersession.load_id).where(LoadSupersession.load_id.in_(load_ids))
    return set(session.scalars(query))
