"""Card registration (what `ssn-gateway cards issue` builds on) and the hotlist.

Registering a card records the holder's display name and programs and has the CA certify the
public key the card generated on itself. The NIK, if given, is sealed at rest and is never
returned by the terminal API (S4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host_gateway import counters
from host_gateway.errors import GatewayError, not_found
from host_gateway.fastsql import Raw
from host_gateway.models import Card, CardProgram, HotlistEntry, Program
from host_gateway.pki import IssuerKeys
from host_gateway.sealing import seal
from host_gateway.shops import clean_name
from ledger.cardnumber import is_valid_card_number, luhn_check_digit
from ledger.cardproofs import BlockOrder, CardCertificate
from ledger.crypto import PUBLIC_KEY_SIZE, is_public_key
from ledger.verify import business_date

CARD_PREFIX = "606001"
CARD_YEARS = 5

BLOCK_LOST = 1
BLOCK_CLONED = 2
BLOCK_FRAUD = 3
BLOCK_INELIGIBLE = 4
BLOCK_SPOILED = 5
"""Issuance failed after the card may have received its certificate: the number is void."""
BLOCK_ORDER_DAYS = 90
"""How long a block order is valid from its issue date (``ssn-gateway serve --block-order-days``):
an order copied off a stolen terminal stops working, and a card still hotlisted gets a fresh one
(:func:`renew_block_orders`)."""


def next_card_number(session: Session) -> str:
    while True:
        partial = f"{CARD_PREFIX}{counters.next_value(session, counters.CARD_SERIAL):09d}"
        number = partial + luhn_check_digit(partial)
        if session.get(Card, number) is None:
            return number


@dataclass(frozen=True)
class Issued:
    card: Card
    certificate: CardCertificate
    programs: tuple[str, ...]


def _years_after(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; a card issued on 29 February runs to the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def register_card(
    session: Session,
    keys: IssuerKeys,
    *,
    holder_name: str,
    programs: Sequence[str],
    public_key: bytes,
    now: int,
    number: str | None = None,
    nik: str | None = None,
    valid_until: dt.date | None = None,
    status: str = "active",
) -> Issued:
    if number is None:
        number = next_card_number(session)
    elif not is_valid_card_number(number):
        raise GatewayError("invalid", f"not a valid 16-digit card number: {number!r}")
    existing = session.get(Card, number)
    if existing is not None:
        raise GatewayError(
            "exists", f"card {number} is already registered ({existing.status})", 409
        )
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise GatewayError("invalid", "the card public key must be 32 bytes")
    if not is_public_key(public_key):
        raise GatewayError("invalid", "the card public key is not a usable Ed25519 key")
    codes = tuple(sorted(set(programs)))
    if not codes:
        raise GatewayError("invalid", "a card needs at least one program")
    known = set(session.scalars(select(Program.code).where(Program.code.in_(codes))))
    if set(codes) - known:
        raise GatewayError("invalid", f"unknown programs {sorted(set(codes) - known)}")
    if nik is not None and not (len(nik) == 16 and nik.isascii() and nik.isdigit()):
        raise GatewayError("invalid", "NIK must be 16 digits")
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    until = valid_until or _years_after(today, CARD_YEARS)
    if until <= today:
        raise GatewayError("invalid", "valid_until must be in the future")
    certificate = keys.card_certificate(number, public_key, until)
    card = Card(
        number=number,
        holder_name=clean_name(holder_name, "holder name"),
        public_key=public_key,
        certificate=certificate.encode(),
        valid_until=until,
        status=status,
        nik_sealed=None
        if nik is None
        else seal(keys.nik_key, nik.encode("ascii"), b"nik:" + number.encode()),
        created=now,
    )
    session.add(card)
    session.flush()
    session.add_all(CardProgram(card_number=number, program_code=code) for code in codes)
    return Issued(card, certificate, codes)


def card_programs(session: Session, numbers: Iterable[str]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    rows = session.execute(
        select(CardProgram.card_number, CardProgram.program_code).where(
            CardProgram.card_number.in_(list(numbers))
        )
    )
    for number, code in rows:
        result.setdefault(number, set()).add(code)
    return result


def hotlist_card(
    session: Session,
    keys: IssuerKeys,
    card_number: str,
    reason: int,
    note: str,
    now: int,
    *,
    block: bool = True,
    valid_days: int = BLOCK_ORDER_DAYS,
) -> HotlistEntry:
    """Put a card on the hotlist (new hotlist version), with a block order if asked, valid for
    ``valid_days`` from today (WITA). Listing a card already listed renews its order."""
    card = session.get(Card, card_number)
    if card is None:
        raise not_found(f"card {card_number}")
    if not 1 <= reason <= 255:
        raise GatewayError("invalid", "reason must be 1-255")
    if valid_days < 1:
        raise GatewayError("invalid", "a block order must be valid for at least one day")
    version = counters.next_value(session, counters.HOTLIST_VERSION)
    order = None
    if block:
        issued = business_date(now)
        order = (
            BlockOrder(
                card_number=card_number,
                reason=reason,
                issued=issued,
                issuer_key_id=keys.authority.key_id,
                valid_until=issued + dt.timedelta(days=valid_days),
            )
            .signed_by(keys.authority)
            .encode()
        )
    entry = HotlistEntry(
        version=version,
        card_number=card_number,
        action="add",
        reason=reason,
        note=note,
        block_order=order,
        added=now,
    )
    session.add(entry)
    if card.status == "active":
        card.status = "hotlisted"
    elif card.status == "issuing":
        card.status = "spoiled"
    session.flush()
    return entry


def renew_block_orders(
    session: Session,
    keys: IssuerKeys,
    now: int,
    *,
    valid_days: int = BLOCK_ORDER_DAYS,
) -> list[HotlistEntry]:
    """Re-sign, with today's date, the block order of every card still hotlisted whose order
    is in the last third of its validity (or has ended): a new hotlist entry, so every terminal
    gets it with its next delta, well before a terminal that syncs rarely holds only an expired
    one. A card that has blocked itself (its receipt is in) needs no order any more."""
    today = business_date(now)
    renewed = []
    for entry in _current_entries(session):
        if entry.action != "add" or entry.block_order is None:
            continue
        order = BlockOrder.decode(entry.block_order)
        if (order.valid_until - today) * 3 > order.valid_until - order.issued:
            continue
        card = session.get(Card, entry.card_number)
        if card is None or card.status == "blocked":
            continue
        renewed.append(
            hotlist_card(
                session, keys, card.number, entry.reason, entry.note, now, valid_days=valid_days
            )
        )
    return renewed


def _current_entries(session: Session) -> list[HotlistEntry]:
    """The latest hotlist entry of every card that has one."""
    latest = (
        select(HotlistEntry.card_number, func.max(HotlistEntry.version).label("v"))
        .group_by(HotlistEntry.card_number)
        .subquery()
    )
    return list(
        session.scalars(
            select(HotlistEntry).join(
                latest,
                (latest.c.card_number == HotlistEntry.card_number)
                & (latest.c.v == HotlistEntry.version),
            )
        )
    )


def hotlisted_since(session: Session, numbers: Iterable[str]) -> dict[str, int]:
    """Cards currently on the hotlist, with the hotlist version that first put them there since
    they were last taken off it (asked by every ingest batch, hence the driver-level query). A
    renewed block order is a later entry of the same listing: a terminal that held the first
    one already knew the card was hotlisted."""
    wanted = sorted(numbers)
    if not wanted:
        return {}
    raw = Raw(session)
    condition, params = raw.any_of("h.card_number", wanted, "text")
    rows = raw.rows(
        "SELECT h.card_number, min(h.version) FROM hotlist h"
        f" WHERE {condition} AND h.action = 'add' AND h.version > COALESCE((SELECT"
        " max(r.version) FROM hotlist r WHERE r.card_number = h.card_number"
        " AND r.action = 'remove'), 0) GROUP BY h.card_number",
        params,
    )
    return {number: int(version) for number, version in rows}
