"""A recipient's card from issuance to its end: issue, replace (lost or damaged), close (the
recipient leaves). The rule for the money is written in docs/programs.md:

- At the end of a card the host takes its value back in ``withdrawn:CARD:P`` (debit): on
  replacement what the card last **confirmed** (its last signed balance per purse) goes to the
  new card as an issuer-signed load (``withdrawn`` -> ``pending``); on closing what the card
  holds goes back to the program's fund (``withdrawn`` -> ``fund``).
- The old card's purse account keeps following the old card (every card's shadow balance must
  equal what it signed, host_gateway/check.py), so late debits made before the block are still
  honoured and paid to their shop.
- :func:`book_differences` then books the difference: ``withdrawn:CARD:P`` is brought back to
  what the dead card still holds, against the program's fund (late debits cost the fund; a late
  load or void gives back to it).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from drivers.card.transport import CardTransport
from host_gateway import cards, counters, events, loads, postings
from host_gateway.db import transaction
from host_gateway.errors import GatewayError, not_found
from host_gateway.issuance import issue_card
from host_gateway.models import Account, Card, Load, LoadSupersession, PurseProof
from host_gateway.pki import IssuerKeys
from host_gateway.programs import recipients
from host_gateway.programs.models import CardLife, Recipient
from ledger.verify import business_date


def withdrawn(card_number: str, program: str) -> str:
    return f"withdrawn:{card_number}:{program}"


def issue_for_recipient(
    factory: sessionmaker[Session],
    keys: IssuerKeys,
    transport: CardTransport,
    *,
    recipient_id: int,
    display_name: str | None,
    pin: str,
    now: int,
    operator: str,
) -> cards.Issued:
    """Personalize the blank card in the reader for a recipient who has no card. The card holds
    the display name the recipient chose (default: the registered name), never the NIK."""
    with transaction(factory) as session:
        recipient = _active_recipient(session, recipient_id)
        if recipient.card_number is not None:
            raise GatewayError(
                "exists", f"recipient {recipient_id} has card {recipient.card_number}", 409
            )
        programs = recipients.programs_of(session, recipient_id)
        name = display_name or recipient.name
    issued = issue_card(
        factory,
        keys,
        transport,
        holder_name=name,
        programs=programs,
        pin=pin,
        now=now,
        operator=operator,
    )
    with transaction(factory) as session:
        link_card(session, recipient_id, issued.card.number, now)
    return issued


def _active_recipient(session: Session, recipient_id: int) -> Recipient:
    recipient = session.get(Recipient, recipient_id)
    if recipient is None:
        raise not_found(f"recipient {recipient_id}")
    if recipient.status != "active":
        raise GatewayError("invalid", f"recipient {recipient_id} has left the programs")
    return recipient


def link_card(session: Session, recipient_id: int, card_number: str, now: int) -> None:
    """Make ``card_number`` (issued, or registered with `cards register`) the recipient's card."""
    session.get_one(Recipient, recipient_id).card_number = card_number
    session.add(CardLife(card_number=card_number, recipient_id=recipient_id, issued_at=now))
    session.flush()


def _life(session: Session, card_number: str) -> CardLife:
    life = session.get(CardLife, card_number)
    if life is None:
        raise not_found(f"card {card_number} of a recipient")
    return life


def replace(
    factory: sessionmaker[Session],
    keys: IssuerKeys,
    transport: CardTransport,
    *,
    old_number: str,
    pin: str,
    now: int,
    operator: str,
    reason: int = cards.BLOCK_LOST,
) -> tuple[cards.Issued, dict[str, int]]:
    """Hotlist the old card, issue the blank card in the reader, carry over the old card's last
    confirmed balance per purse. Run again after a failed issuance: it resumes."""
    with transaction(factory) as session:
        life = _life(session, old_number)
        if life.replaced_by is not None:
            raise GatewayError("invalid", f"card {old_number} was replaced by {life.replaced_by}")
        if life.ended_at is None:
            cards.hotlist_card(session, keys, old_number, reason, "replaced", now)
            life.ended_at, life.end_reason = now, "replaced"
            session.get_one(Recipient, life.recipient_id).card_number = None
        elif life.end_reason != "replaced":
            raise GatewayError("invalid", f"card {old_number} was {life.end_reason}")
        recipient_id = life.recipient_id
        programs = recipients.programs_of(session, recipient_id)
        name = session.get_one(Card, old_number).holder_name
    issued = issue_card(
        factory,
        keys,
        transport,
        holder_name=name,
        programs=programs,
        pin=pin,
        now=now,
        operator=operator,
    )
    new = issued.card.number
    with transaction(factory) as session:
        link_card(session, recipient_id, new, now)
        session.get_one(CardLife, old_number).replaced_by = new
        carried = _carry_over(session, keys, old_number, new, now)
        _settle_pending(session, keys, old_number, new, now)
        book_differences(session, now, [old_number])
        events.audit(session, now, operator, f"cards replace {old_number} by {new} {carried}")
    return issued, carried


def confirmed_balances(session: Session, card_number: str) -> dict[str, int]:
    """The card's last signed balance per purse (what it confirmed)."""
    latest = (
        select(PurseProof.purse_code, func.max(PurseProof.counter).label("counter"))
        .where(PurseProof.card_number == card_number)
        .group_by(PurseProof.purse_code)
        .subquery()
    )
    rows = session.execute(
        select(PurseProof.purse_code, PurseProof.balance_after)
        .join(
            latest,
            (latest.c.purse_code == PurseProof.purse_code)
            & (latest.c.counter == PurseProof.counter),
        )
        .where(PurseProof.card_number == card_number)
    )
    return {code: int(balance) for code, balance in rows}


def _carry_over(session: Session, keys: IssuerKeys, old: str, new: str, now: int) -> dict[str, int]:
    carried: dict[str, int] = {}
    entry = postings.Entry("card_replaced", f"card {old} replaced by {new}")
    for code, balance in sorted(confirmed_balances(session, old).items()):
        expiry = session.scalar(
            select(func.max(Load.expiry)).where(Load.card_number == old, Load.purse_code == code)
        )
        if balance <= 0 or expiry is None or expiry <= business_date(now):
            continue  # nothing to carry, or expired: book_differences returns it to the fund
        if code not in recipients.programs_of_card(session, new):
            continue
        loads.authorize(session, keys, new, code, balance, expiry, now)
        entry.transfer(withdrawn(old, code), postings.pending(code), balance)
        carried[code] = balance
    postings.post(session, now, [entry])
    return carried


def close(session: Session, keys: IssuerKeys, card_number: str, now: int) -> dict[str, int]:
    """The recipient leaves: the card is hotlisted, its value goes back to the programs."""
    life = _life(session, card_number)
    if life.ended_at is not None:
        raise GatewayError("invalid", f"card {card_number} was {life.end_reason}")
    cards.hotlist_card(session, keys, card_number, cards.BLOCK_INELIGIBLE, "closed", now)
    life.ended_at, life.end_reason = now, "closed"
    recipient = session.get_one(Recipient, life.recipient_id)
    recipient.status, recipient.card_number = "left", None
    session.flush()
    _settle_pending(session, keys, card_number, None, now)
    return book_differences(session, now, [card_number])


def _settle_pending(
    session: Session, keys: IssuerKeys, old: str, new: str | None, now: int
) -> dict[str, int]:
    """The old card's loads it never took (this month's aid signed, a refund approved, before
    the card was lost): each is signed again for the new card, same amount and expiry, its money
    staying in ``pending:P``; with no new card (closed), or a program the new card is not in,
    it goes back to the fund. The old load is no longer delivered; if the old card takes it
    anyway (a terminal that held it and not the hotlist yet), ingest holds it in suspense."""
    moved: dict[str, int] = {}
    new_programs = set(recipients.programs_of_card(session, new)) if new else set()
    entry = postings.Entry("card_ended", f"loads of card {old} it never took")
    today = business_date(now)
    waiting = session.scalars(
        select(Load)
        .where(
            Load.card_number == old,
            Load.applied_record.is_(None),
            Load.id.not_in(select(LoadSupersession.load_id)),
            Load.expiry > today,
        )
        .order_by(Load.load_seq)
    )
    for load in list(waiting):
        if new is not None and load.purse_code in new_programs:
            carried = loads.authorize(session, keys, new, load.purse_code, load.amount,
                                      load.expiry, now)  # fmt: skip
            session.add(LoadSupersession(load_id=load.id, carried_to=carried.id, at=now))
        else:
            entry.transfer(postings.pending(load.purse_code), postings.fund(load.purse_code),
                           load.amount)  # fmt: skip
            session.add(LoadSupersession(load_id=load.id, carried_to=None, at=now))
        load.version = counters.next_value(session, counters.LOADS_VERSION)  # terminals drop it
        moved[load.purse_code] = moved.get(load.purse_code, 0) + load.amount
    postings.post(session, now, [entry])
    session.flush()
    return moved


def book_differences(
    session: Session, now: int, numbers: list[str] | None = None
) -> dict[str, int]:
    """For every ended card (or those named): bring ``withdrawn:CARD:P`` to what the card
    still holds (its shadow balance), against the program's fund. Returns what moved per
    account (positive: the fund paid it, e.g. a late debit)."""
    query = select(CardLife.card_number).where(CardLife.ended_at.is_not(None))
    if numbers is not None:
        query = query.where(CardLife.card_number.in_(numbers))
    ended = list(session.scalars(query))
    if not ended:
        return {}
    balances = dict(
        session.execute(
            select(Account.code, Account.balance).where(
                Account.code.in_(
                    [
                        f"{kind}:{n}:{p}"
                        for n in ended
                        for kind in ("purse", "withdrawn")
                        for p in recipients.programs_of_card(session, n)
                    ]
                )
            )
        ).all()
    )
    moved: dict[str, int] = {}
    entries = []
    for number in sorted(ended):
        for code in recipients.programs_of_card(session, number):
            holds = -int(balances.get(postings.purse(number, code), 0))
            taken = int(balances.get(withdrawn(number, code), 0))
            if holds == taken:
                continue
            entry = postings.Entry("card_ended", f"card {number} {code} after its end")
            if taken > holds:  # late debits: the fund pays what the dead card still spent
                entry.transfer(postings.fund(code), withdrawn(number, code), taken - holds)
            else:  # value came back to the dead card: it returns to the fund
                entry.transfer(withdrawn(number, code), postings.fund(code), holds - taken)
            entries.append(entry)
            moved[withdrawn(number, code)] = taken - holds
    postings.post(session, now, entries)
    return moved
