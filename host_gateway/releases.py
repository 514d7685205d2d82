"""Held sales released to their shop: an operator's decision, with a second operator's approval.

A genuine card debit the host could not accept as it came (its time outside what the host can
trust, a quantity period that does not match, ...) is stored with its reason and its money held
in ``suspense:P``: the card paid, the shop is not paid (docs/api.md result codes). After review,
say a shop whose network was down for days and whose honest sales came in after the offline
window, one operator asks for the sale's release (by its terminal and seq, with a reason) and
**another** approves it: then the held money moves from suspense to the shop (``suspense:P`` ->
``shop:S``), and the next settlement window pays it. A release is once per sale, only of a sale
held for its time (:data:`RELEASABLE`), never of a sale the card cancelled, never of a record
whose card proof the host did not take as this card's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.errors import GatewayError, not_found
from host_gateway.models import CardTransaction, HeldRelease, StoredRecord, Terminal
from host_gateway.references import (
    StoredSale,
    cancelled_on_card,
    record_in_chain,
    sale_proof,
    stored_sale,
)

RELEASABLE = frozenset({"proof_time_stale", "proof_time_future", "proof_time_backwards"})
"""Held for its time alone: the sale itself kept every rule, only its terminal's clock or its
late arrival put it outside what the host can trust. A sale held for what it is (above HET, not
in the catalog, over a cap, a blocked card, a basket the card did not sign...) is never paid to
the shop, whoever approves (M4, S2)."""


def find_held_sale(session: Session, reference: str) -> StoredSale:
    """The held sale named ``TERMINAL/SEQ``: stored, not accepted, its card debit genuine."""
    record = record_in_chain(session, reference)
    if record.type != "sale" or record.status == "accepted":
        raise GatewayError("invalid", f"record {reference} is not a held sale ({record.status})")
    if record.code not in RELEASABLE:
        raise GatewayError(
            "invalid",
            f"sale {reference} is held as {record.code}: the sale itself breaks a rule, it is"
            f" not released (only {', '.join(sorted(RELEASABLE))} are)",
        )
    sale = stored_sale(session, record)
    taken = session.get(CardTransaction, (sale.proof.card_number, sale.proof.counter))
    if taken is None or taken.record_id != record.id:
        raise GatewayError(
            "invalid",
            f"record {reference} was refused as not this card's ({record.code}): no money is held",
        )
    if cancelled_on_card(session, sale.proof):
        raise GatewayError("invalid", f"sale {reference} was cancelled on the card")
    return sale


def ask(session: Session, reference: str, operator: str, reason: str, now: int) -> HeldRelease:
    """One operator asks for the release; nothing moves yet."""
    if not operator.strip():
        raise GatewayError("invalid", "the operator asking for the release must be named")
    if not reason.strip():
        raise GatewayError("invalid", "say why the held sale is released (for the audit log)")
    held = find_held_sale(session, reference)
    existing = session.scalars(
        select(HeldRelease).where(HeldRelease.record_id == held.record.id)
    ).first()
    if existing is not None:
        raise GatewayError("invalid", f"sale {reference} has release {existing.id} already")
    release = HeldRelease(
        record_id=held.record.id,
        terminal_id=held.record.terminal_id,
        seq=held.record.seq,
        shop_id=held.shop_id,
        code=held.record.code,
        amount=held.proof.total,
        reason=reason.strip(),
        created_by=operator.strip(),
        created_at=now,
    )
    session.add(release)
    session.flush()
    return release


def approve(session: Session, release_id: int, operator: str, now: int) -> HeldRelease:
    """Another operator approves: the held money goes from suspense to the sale's shop. The row
    is locked, so the same approval sent twice at once (a double click) pays the shop once."""
    release = session.get(HeldRelease, release_id, with_for_update=True)
    if release is None:
        raise not_found(f"release {release_id}")
    if release.approved_at is not None:
        raise GatewayError("invalid", f"release {release_id} was approved by {release.approved_by}")
    if operator.strip().casefold() in ("", release.created_by.casefold()):
        raise GatewayError("invalid", "a release is approved by another operator than who asked")
    held = find_held_sale(session, f"{release.terminal_id}/{release.seq}")
    entry = postings.Entry(
        "release", f"held sale {release.terminal_id}/{release.seq} released", held.record.id
    )
    for purse in held.proof.purses:
        entry.transfer(postings.suspense(purse.code), postings.shop(held.shop_id), purse.amount)
    postings.post(session, now, [entry])
    release.approved_by, release.approved_at = operator.strip(), now
    session.flush()
    return release


def listing(session: Session) -> list[dict[str, object]]:
    return [
        {
            "id": r.id,
            "record": f"{r.terminal_id}/{r.seq}",
            "shop": r.shop_id,
            "held_as": r.code,
            "amount": r.amount,
            "reason": r.reason,
            "asked_by": r.created_by,
            "approved_by": r.approved_by,
        }
        for r in session.scalars(select(HeldRelease).order_by(HeldRelease.id))
    ]


@dataclass(frozen=True)
class HeldView:
    record: str
    """TERMINAL/SEQ, what ``held release --record`` takes."""
    shop: str
    held_as: str
    amount: int
    terminal_time: int
    message: str
    releasable: bool
    """Held for its time alone (:data:`RELEASABLE`); otherwise listed, never released."""


def held_sales(session: Session, limit: int = 200) -> list[HeldView]:
    """Sales held with their reason and not released yet, newest first: what operators review."""
    released = select(HeldRelease.record_id)
    rows = session.execute(
        select(StoredRecord, Terminal.shop_id)
        .join(Terminal, Terminal.id == StoredRecord.terminal_id)
        .join(  # the card's debit taken as this card's: its money is in suspense
            CardTransaction,
            (CardTransaction.card_number == StoredRecord.card_number)
            & (CardTransaction.counter == StoredRecord.card_counter)
            & (CardTransaction.record_id == StoredRecord.id),
        )
        .where(
            StoredRecord.type == "sale",
            StoredRecord.status != "accepted",
            StoredRecord.in_chain,
            StoredRecord.id.not_in(released),
        )
        .order_by(StoredRecord.terminal_time.desc())
        .limit(limit)
    ).all()
    return [
        HeldView(
            f"{record.terminal_id}/{record.seq}",
            shop_id,
            record.code,
            sale_proof(record).total,
            record.terminal_time,
            record.message,
            record.code in RELEASABLE,
        )
        for record, shop_id in rows
    ]
