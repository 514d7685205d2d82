"""What terminals download: the signed catalog and config, hotlist deltas, pending loads.

Catalog and config are whole signed documents, one per version, signed once when published.
The hotlist is sent as a delta signed on request: ``{"since", "entries"}`` at the current version,
so a terminal that holds version ``since`` gets exactly the changes after it and the signature
binds the two (a delta cannot pass for a full list). Loads need no document signature: each load
authorization is signed by the authority on its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import counters
from host_gateway.errors import GatewayError
from host_gateway.models import HotlistEntry, HotlistFetch, Load, PublishedDocument, Terminal
from host_gateway.pki import IssuerKeys
from ledger.binary import FormatError
from ledger.catalog import CATALOG_KIND, Catalog
from ledger.documents import DocumentError, SignedDocument

CONFIG_KIND = "config"
HOTLIST_KIND = "hotlist"
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


def loads_delta(session: Session, since: int, limit: int = LOADS_PAGE) -> LoadsDelta:
    rows = list(
        session.scalars(
            select(Load).where(Load.version > since).order_by(Load.version).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    version = rows[-1].version if rows else since
    return LoadsDelta(
        version=version,
        pending=[r for r in rows if r.applied_record is None],
        applied=[r for r in rows if r.applied_record is not None],
        more=more,
    )
