"""One sale, from scanned items to a committed record (docs/sale-state-machine.md).

The card is read and checked, earlier unfinished operations with it are settled, the basket is
built against the catalog and the card, the offline limits and the PIN are checked, and only
then is the debit written ahead to the journal and sent. Every way this can end is an
:class:`~terminal.sale.outcome.Outcome`; card, reader and printer problems never escape as
exceptions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from drivers.card.errors import (
    BadCardProof,
    CardBlocked,
    CardExpired,
    CardNotGenuine,
    CardRefused,
    CardTerminated,
    InsufficientBalance,
    PinBlocked,
    PinEntryCancelled,
    PinEntryTimeout,
    PinFormatError,
    PurseExpired,
    WrongPin,
)
from drivers.card.protocol import CardInfo, DebitRequest
from drivers.card.session import CardSession
from drivers.card.transport import CardError, CardTransportError
from ledger.bodies import SaleBody
from ledger.cardnumber import mask_card_number
from ledger.cardproofs import NONCE_SIZE, DebitProof, VoidProof
from ledger.documents import DocumentError
from ledger.record import Record
from terminal.basket import Basket, ScannedItem, build_basket
from terminal.documents import verified_loads, verified_pin_unblocks
from terminal.journal import IntentKind
from terminal.sale.blocking import enforce_hotlist
from terminal.sale.evidence import fetch_wanted, settle_from_host
from terminal.sale.loads import apply_loads
from terminal.sale.outcome import Balance, Outcome, Resolution, Status
from terminal.sale.pin_unblock import apply_pin_unblock
from terminal.sale.recovery import resolve_for_card
from terminal.sale.risk import check_offline_limits, is_offline
from terminal.sale.till import CardBusy, CardCommand, CardCommandError, Till


def read_card_checked(
    till: Till, session: CardSession, now: int
) -> tuple[CardInfo | None, Outcome | None]:
    """Read the card; an unusable card becomes a refusal outcome (nothing was changed)."""
    try:
        return session.read_card(till.today(now)), None
    except CardNotGenuine:
        return None, refuse(till, "card_not_genuine")
    except CardExpired:
        return None, refuse(till, "card_expired")
    except CardBlocked:
        return None, refuse(till, "card_blocked")
    except CardTerminated:
        return None, refuse(till, "card_terminated")
    except CardError as exc:
        return None, card_problem(till, exc)


def refuse(till: Till, reason: str, **values: object) -> Outcome:
    return Outcome(Status.REFUSED, reason, till.say(reason, **values))


def card_problem(till: Till, exc: CardError) -> Outcome:
    """A card or reader error outside a command in flight: nothing changed on the card."""
    if isinstance(exc, WrongPin):
        if exc.tries_left == 0:  # that was the last try: the PIN is blocked now
            return refuse(till, "pin_blocked")
        return refuse(till, "wrong_pin", tries_left=exc.tries_left)
    if isinstance(exc, PinBlocked):
        return refuse(till, "pin_blocked")
    if isinstance(exc, PinEntryTimeout):
        return refuse(till, "pin_pad_timeout")
    if isinstance(exc, PinEntryCancelled):
        return refuse(till, "pin_pad_cancelled")
    if isinstance(exc, PinFormatError):
        return refuse(till, "pin_format")
    if isinstance(exc, CardBlocked):
        return refuse(till, "card_blocked")
    if isinstance(exc, InsufficientBalance):
        return refuse(till, "insufficient_balance")
    if isinstance(exc, PurseExpired):
        return refuse(till, "purse_expired")
    # The device's own words (often English, from pcscd) go to details, not into the sentence.
    code = "card_error" if isinstance(exc, CardRefused) else "reader_error"
    return _with(refuse(till, code), details={"detail": str(exc)})


@dataclasses.dataclass(frozen=True)
class Presented:
    """The card as it is after being presented: read, its unfinished operations resolved,
    pending loads applied."""

    info: CardInfo
    resolutions: tuple[Resolution, ...]
    wanted: tuple[int, ...] = ()
    """Counters of this card the host asked for just now (online)."""
    next_aid: tuple[tuple[str, dt.date], ...] = ()
    """When the host said the next aid is due, per purse (online only)."""


def present_card(
    till: Till, session: CardSession, now: int, cashier: str = ""
) -> Presented | Outcome:
    """What every card operation does first, a sale or a balance inquiry alike; an
    :class:`Outcome` is the refusal that ended it (with what was resolved so far)."""
    till.refresh()
    settled = tuple(settle_from_host(till))
    info, refusal = read_card_checked(till, session, now)
    if info is None or refusal is not None:
        refusal = refusal or refuse(till, "card_not_genuine")
        return _with(refusal, resolutions=_settle_unusable_card(till, session, cashier))
    try:
        resolutions = tuple(resolve_for_card(till, session, info, cashier))
    except CardError as exc:
        return card_problem(till, exc)
    blocked = enforce_hotlist(till, session, info, now)
    if blocked is not None:
        return _with(blocked, resolutions=resolutions)
    number = session.card_number
    assert number is not None
    host = till.host_view(number, info.counter, now)
    try:
        online = verified_loads(list(host.pending_loads), till.config.authority_keys)
    except DocumentError:
        online = []  # not the issuer's: ignore what the host said, keep what is held
    try:
        orders = verified_pin_unblocks(list(host.pin_unblocks), till.config.authority_keys)
    except DocumentError:
        orders = []
    try:
        held = till.pending_pin_unblocks()
        info, unblocked = apply_pin_unblock(till, session, info, [*held, *orders], now)
    except CardError as exc:
        return _with(card_problem(till, exc), resolutions=resolutions)
    resolutions += tuple(unblocked)
    try:
        info, loaded = apply_loads(till, session, info, [*till.pending_loads(), *online], now)
    except CardError as exc:
        return _with(card_problem(till, exc), resolutions=resolutions)
    done = settled + resolutions + tuple(loaded)
    if any(r.kind == "load" and r.result == "unresolved" for r in loaded):
        # The card may hold the aid already: never "refused", always "present it again".
        torn = Outcome(Status.UNRESOLVED, "load_torn", till.say("load_torn"))
        return _with(torn, resolutions=done, card=mask_card_number(number))
    return Presented(info, done, host.wanted_counters, host.next_aid)


def _settle_unusable_card(till: Till, session: CardSession, cashier: str) -> tuple[Resolution, ...]:
    """A genuine card refused for sale (blocked, terminated, expired) still settles what this
    terminal left unfinished with it: a debit torn before the card was blocked elsewhere is on
    the card and must reach the journal (M3), and a torn block order needs its receipt."""
    if session.certificate is None or session.info is None:
        return ()  # not read far enough to be known genuine
    try:
        return tuple(resolve_for_card(till, session, session.info, cashier))
    except CardError:
        return ()  # the intents stay open for the next presentation


def sell(
    till: Till,
    session: CardSession,
    scans: Sequence[ScannedItem],
    pin: str,
    *,
    cashier: str,
    allow_cash: bool = False,
) -> Outcome:
    """Present, verify, charge: the whole sale in one call (the CLI and automation)."""
    now = till.clock()
    presented = present_card(till, session, now, cashier)
    if isinstance(presented, Outcome):
        return presented
    number = session.card_number
    assert number is not None
    if till.catalog() is None:
        outcome = refuse(till, "no_catalog")
    else:
        verified = verify_holder(till, session, pin)
        if isinstance(verified, Outcome):
            outcome = verified
        else:
            outcome = charge(
                till, session, verified, scans, cashier=cashier, allow_cash=allow_cash, now=now
            )
            outcome = after_charge(till, session, outcome, presented.wanted)
    return _with(outcome, resolutions=presented.resolutions, card=mask_card_number(number))


def verify_holder(till: Till, session: CardSession, pin: str) -> CardInfo | Outcome:
    """The holder's PIN: the card tells its purses and quantity counters only after it."""
    try:
        return session.verify_pin(pin)
    except CardError as exc:
        return card_problem(till, exc)


def basket_for(
    till: Till, info: CardInfo, scans: Sequence[ScannedItem], now: int, allow_cash: bool
) -> Basket | Outcome:
    """The basket as this card would pay it now (what the cashier sees before charging)."""
    catalog = till.catalog()
    if catalog is None:
        return refuse(till, "no_catalog")
    return build_basket(
        scans,
        catalog,
        info,
        till.today(now),
        shelf_prices=till.shelf_prices,
        split_tender=allow_cash and till.split_tender,
    )


def after_charge(
    till: Till, session: CardSession, outcome: Outcome, wanted: Sequence[int]
) -> Outcome:
    """After the receipt, with the PIN still opening the log: what the host is missing."""
    if outcome.status is not Status.COMPLETED:
        return outcome
    read = fetch_wanted(till, session, tuple(wanted))
    if read:
        outcome = _with(outcome, details={**outcome.details, "evidence_read": read})
    return outcome


def charge(
    till: Till,
    session: CardSession,
    info: CardInfo,
    scans: Sequence[ScannedItem],
    *,
    cashier: str,
    allow_cash: bool = False,
    now: int | None = None,
) -> Outcome:
    """Debit the basket from a card whose holder has given the PIN in this session."""
    now = till.clock() if now is None else now
    basket = basket_for(till, info, scans, now, allow_cash)
    if isinstance(basket, Outcome):
        return basket
    if basket.card_total == 0:
        return _with(refuse(till, "nothing_to_charge"), refused_lines=basket.refused)
    offline_state = till.journal.offline_state()
    risk = check_offline_limits(till.limits, offline_state, now, basket.card_total)
    if risk is not None:
        return _with(refuse(till, risk.reason, limit=risk.limit), refused_lines=basket.refused)
    return _debit(till, session, info, basket, now, cashier, is_offline(offline_state, now))


def _debit(
    till: Till,
    session: CardSession,
    info: CardInfo,
    basket: Basket,
    now: int,
    cashier: str,
    offline: bool,
) -> Outcome:
    number, certificate = session.card_number, session.certificate
    assert number is not None and certificate is not None
    nonce = till.random_bytes(NONCE_SIZE)
    request = DebitRequest(
        terminal_id=till.terminal_id,
        nonce=nonce,
        time=now,
        basket_digest=basket.digest(),
        amounts=basket.purse_amounts(),
        quantities=basket.quantities,
    )
    draft = SaleBody(
        card_number=number,
        card_certificate=certificate.encode(),
        card_proof=b"",
        catalog_version=basket.catalog_version,
        lines=basket.lines,
        cash=basket.cash,
        cashier=cashier,
    )
    command = CardCommand(
        IntentKind.SALE,
        number,
        info.counter + 1,
        nonce,
        request.encode(),
        draft.to_value(),
        lambda: session.debit(request),
        "debit",
    )
    try:
        proof, record, _ = till.run(command, now, info, cashier, offline)
    except CardBusy:
        return refuse(till, "card_busy")
    except CardCommandError as failed:
        return _with(failure_outcome(till, failed), refused_lines=basket.refused)
    return completed_outcome(record, proof, basket, till.receipt_jobs(record.id), info)


def balances_after(info: CardInfo, proof: DebitProof | VoidProof) -> tuple[Balance, ...]:
    """Every purse on the card after the operation, from the card's signed answer."""
    after = proof.balances()
    balances = [
        Balance(p.code, after.pop(p.code, p.balance), p.expiry.isoformat()) for p in info.purses
    ]
    balances.extend(Balance(code, balance) for code, balance in sorted(after.items()))
    return tuple(balances)


def completed_outcome(
    record: Record,
    proof: DebitProof,
    basket: Basket,
    receipt_jobs: tuple[int, ...],
    info: CardInfo,
) -> Outcome:
    return Outcome(
        Status.COMPLETED,
        record_id=record.id,
        seq=record.seq,
        card=mask_card_number(proof.card_number),
        purse_amounts=tuple((p.code, p.amount) for p in proof.purses),
        cash=basket.cash,
        balances=balances_after(info, proof),
        refused_lines=basket.refused,
        receipt_jobs=receipt_jobs,
    )


def failure_outcome(till: Till, failed: CardCommandError) -> Outcome:
    """What the cashier is told when the card command after an intent failed."""
    if not failed.unresolved:
        return card_problem(till, failed.cause)
    # The card may have moved the money: never "refused" (nothing moved), always unresolved.
    if isinstance(failed.cause, BadCardProof):
        reason = "bad_card_proof"
    elif isinstance(failed.cause, CardTransportError):
        reason = "card_removed"  # the card or reader went away around the command
    else:
        reason = "card_answer_garbled"
    return Outcome(
        Status.UNRESOLVED, reason, till.say(reason), details={"intent_id": str(failed.intent.id)}
    )


def _with(outcome: Outcome, **changes: Any) -> Outcome:
    return dataclasses.replace(outcome, **changes)


__all__ = [
    "Presented",
    "Resolution",
    "after_charge",
    "balances_after",
    "basket_for",
    "card_problem",
    "charge",
    "failure_outcome",
    "present_card",
    "read_card_checked",
    "refuse",
    "sell",
    "verify_holder",
]
