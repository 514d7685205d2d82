"""One payout instruction per closed window, maker-checker: one settlement operator prepares
it, another releases it. A released file is never released twice; regenerating it gives the same
bytes (everything in it is stored at preparation: the transfers at window close, the payer, the
time), and its SHA-256 is checked against the one recorded at preparation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway.errors import GatewayError
from host_gateway.settlement import accounts, payfile, windows
from host_gateway.settlement.models import Payout, PayoutItem

INITIATOR = "Dinas Sosial Kota Samarinda"


@dataclass(frozen=True)
class PayoutFile:
    window: dt.date
    message_id: str
    xml: bytes
    csv: bytes
    transfers: int
    total: int
    prepared_by: str
    released_by: str | None


def message_id(day: dt.date) -> str:
    return f"SSN-PAYOUT-{day:%Y%m%d}"


def prepare(session: Session, day: dt.date, operator: str, now: int) -> PayoutFile:
    """The maker: writes the instruction of the closed window ``day``; nothing is sent yet."""
    operator = _named(operator)
    window = windows.find(session, day)
    existing = session.get(Payout, window.id)
    if existing is not None:
        raise GatewayError(
            "exists", f"the payout of {day} was prepared by {existing.prepared_by}", 409
        )
    items = _items(session, window.id)
    if not items:
        raise GatewayError("invalid", f"the window of {day} pays no shop: nothing to prepare")
    giro = accounts.giro(session)
    payout = Payout(
        window_id=window.id,
        message_id=message_id(day),
        prepared_by=operator,
        prepared_at=now,
        file_sha256=b"",
        giro_bic=giro.bic,
        giro_account=giro.account_number,
        giro_name=giro.holder_name,
        released_by=None,
        released_at=None,
    )
    xml = payfile.pain001(_instruction(payout, items, day))
    payout.file_sha256 = hashlib.sha256(xml).digest()
    session.add(payout)
    session.flush()
    return render(session, day)


def release(session: Session, day: dt.date, operator: str, now: int) -> PayoutFile:
    """The checker: another operator approves; the file may go to the bank, once."""
    operator = _named(operator)
    window = windows.find(session, day)
    payout = session.get(Payout, window.id)
    if payout is None:
        raise GatewayError("invalid", f"the payout of {day} is not prepared yet")
    if payout.released_at is not None:
        raise GatewayError(
            "released",
            f"the payout of {day} was released by {payout.released_by}: never twice",
            409,
        )
    if operator.casefold() == payout.prepared_by.casefold():
        raise GatewayError(
            "invalid", "a payout is released by another operator than who prepared it"
        )
    rendered = render(session, day)  # checks the bytes are the prepared ones
    payout.released_by, payout.released_at = operator, now
    for item in _items(session, window.id):
        item.status, item.updated_at = "released", now
    session.flush()
    return dataclasses.replace(rendered, released_by=operator)


def render(session: Session, day: dt.date) -> PayoutFile:
    """The prepared file, regenerated: the same bytes every time."""
    window = windows.find(session, day)
    payout = session.get(Payout, window.id)
    if payout is None:
        raise GatewayError("invalid", f"the payout of {day} is not prepared yet")
    items = _items(session, window.id)
    instruction = _instruction(payout, items, day)
    xml = payfile.pain001(instruction)
    if hashlib.sha256(xml).digest() != payout.file_sha256:
        raise GatewayError("tampered", f"the payout of {day} no longer matches what was prepared")
    return PayoutFile(
        day,
        payout.message_id,
        xml,
        payfile.bulk_csv(instruction),
        len(items),
        instruction.total,
        payout.prepared_by,
        payout.released_by,
    )


def _instruction(payout: Payout, items: list[PayoutItem], day: dt.date) -> payfile.Instruction:
    return payfile.Instruction(
        message_id=payout.message_id,
        created=payout.prepared_at,
        debtor=payfile.Party(payout.giro_bic, payout.giro_account, payout.giro_name),
        initiator=INITIATOR,
        transfers=tuple(
            payfile.Transfer(
                item.end_to_end_id,
                item.amount,
                payfile.Party(item.bic, item.account_number, item.holder_name),
                f"SSN settlement {day.isoformat()} {item.shop_id}",
            )
            for item in items
        ),
    )


def _items(session: Session, window_id: int) -> list[PayoutItem]:
    """The window's transfers in a fixed order (every status: a file never loses a line)."""
    return list(
        session.scalars(
            select(PayoutItem)
            .where(PayoutItem.window_id == window_id)
            .order_by(PayoutItem.end_to_end_id)
        )
    )


def _named(operator: str) -> str:
    if not operator.strip():
        raise GatewayError("invalid", "the settlement operator must be named")
    return operator.strip()


def items(session: Session, day: dt.date | None = None) -> list[PayoutItem]:
    query = select(PayoutItem).order_by(PayoutItem.window_id, PayoutItem.end_to_end_id)
    if day is not None:
        query = query.where(PayoutItem.window_id == windows.find(session, day).id)
    return list(session.scalars(query))
