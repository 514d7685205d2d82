"""Balance inquiry: balances, expiry per purse and what the monthly caps still allow, with PIN.

The holder spends nothing, but the card is presented like for a sale: unfinished operations are
resolved, a hotlisted card is blocked, and pending loads are applied (each one a load record) so
the balance shown is the one the holder can spend. A slip is printed only if asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from drivers.card.protocol import CardInfo
from drivers.card.session import CardSession
from drivers.card.transport import CardError
from ledger.cardnumber import mask_card_number
from terminal.basket import cap_remaining
from terminal.receipts.jobs import JobKind
from terminal.receipts.model import BalanceSlip, MaskedCard, PurseBalance, ShopInfo
from terminal.sale.evidence import fetch_wanted
from terminal.sale.outcome import Balance, Outcome, Status
from terminal.sale.sale import card_problem, present_card
from terminal.sale.till import Till


def balance_inquiry(
    till: Till, session: CardSession, pin: str, *, print_slip: bool = False
) -> Outcome:
    now = till.clock()
    presented = present_card(till, session, now)
    if isinstance(presented, Outcome):
        return presented
    number = session.card_number
    assert number is not None
    try:
        info = session.verify_pin(pin)  # the card tells its purses only to the PIN
    except CardError as exc:
        return dataclasses.replace(card_problem(till, exc), resolutions=presented.resolutions)
    fetch_wanted(till, session, presented.wanted)  # the log is open now: what the host misses
    outcome = balance_of(
        till, number, info, now, print_slip=print_slip, next_aid=presented.next_aid
    )
    return dataclasses.replace(outcome, resolutions=presented.resolutions)


def balance_of(
    till: Till,
    number: str,
    info: CardInfo,
    now: int,
    *,
    print_slip: bool = False,
    next_aid: tuple[tuple[str, dt.date], ...] = (),
) -> Outcome:
    """Balances and caps of a card whose holder gave the PIN (``info`` from VERIFY PIN)."""
    today = till.today(now)
    balances = tuple(
        Balance(p.code, 0 if p.expired_on(today) else p.balance, p.expiry.isoformat())
        for p in info.purses
    )
    catalog = till.catalog()
    caps = []
    if catalog is not None:
        for code, left in sorted(cap_remaining(catalog, info, today).items()):
            category = catalog.categories[code]
            caps.append(
                {
                    "category": code,
                    "name": category.name,
                    "remaining": left,
                    "unit": category.base_unit,
                }
            )
    receipt_jobs: tuple[int, ...] = ()
    if print_slip:
        slip = BalanceSlip(
            shop=ShopInfo(till.config.shop_name, till.config.shop_address, till.terminal_id),
            terminal_id=till.terminal_id,
            time=now,
            card=MaskedCard.from_number(number),
            balances=tuple(
                PurseBalance(b.code, till.purse_labels.get(b.code, ""), b.balance, p.expiry)
                for b, p in zip(balances, info.purses, strict=True)
            ),
            next_aid=next_aid,
        )
        slip_bytes = till.composer.balance_slip(slip, till.receipt_config)
        receipt_jobs = (till.journal.add_job(None, JobKind.BALANCE, slip_bytes),)
    return Outcome(
        Status.COMPLETED,
        card=mask_card_number(number),
        balances=balances,
        receipt_jobs=receipt_jobs,
        details={
            "caps_remaining": caps,
            "expired_purses": [p.code for p in info.purses if p.expired_on(today)],
            "next_aid": {code: due.isoformat() for code, due in next_aid},
        },
    )
