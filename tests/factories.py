"""Builders of valid keys, cards and signed records for tests that do not need a card simulator.

They sign with the same code the card and terminal use, so a record built here passes
:func:`ledger.verify.verify_record`; tests then alter one thing and expect a refusal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import time
from dataclasses import dataclass, field

from ledger.binary import encode_period
from ledger.bodies import SaleBody, SaleLine
from ledger.cardnumber import luhn_check_digit
from ledger.cardproofs import (
    BlockOrder,
    BlockReceipt,
    CardCertificate,
    DebitProof,
    LoadAuthorization,
    LoadReceipt,
    PurseBalance,
    PurseMovement,
    QuantityMovement,
)
from ledger.crypto import SigningKey
from ledger.ids import new_id
from ledger.record import GENESIS_HASH, Record, RecordType
from ledger.verify import TrustAnchors, business_date

T0 = 1_795_000_000  # 2026-11-18 WITA


@functools.cache
def real_clock_expiry() -> dt.date:
    """An expiry (a purse's, a card certificate's) for tests that run on the real clock: 400 days
    after today's WITA date, computed once per process, so they work whatever day they run.

    Tests on a fixed clock (``T0``) keep their fixed dates instead: their outputs stay the same.
    """
    return business_date(int(time.time())) + dt.timedelta(days=400)


def card_number(serial: int) -> str:
    partial = f"606001{serial:09d}"
    return partial + luhn_check_digit(partial)


@dataclass
class Issuer:
    ca: SigningKey = field(default_factory=SigningKey.generate)
    authority: SigningKey = field(default_factory=SigningKey.generate)

    @property
    def anchors(self) -> TrustAnchors:
        return TrustAnchors(
            ca_keys={self.ca.key_id: self.ca.public_key},
            authority_keys={self.authority.key_id: self.authority.public_key},
        )

    def card(self, serial: int = 1, valid_until: dt.date = dt.date(2031, 12, 31)) -> FakeCard:
        key = SigningKey.generate()
        cert = CardCertificate(
            card_number=card_number(serial),
            public_key=key.public_key,
            valid_until=valid_until,
            issuer_key_id=self.ca.key_id,
        ).signed_by(self.ca)
        return FakeCard(cert, key, {"APBD": 200_000, "BZNS": 100_000})

    def load(
        self,
        card: FakeCard,
        seq: int,
        purse: str,
        amount: int,
        expiry: dt.date = dt.date(2026, 12, 31),
    ) -> LoadAuthorization:
        return LoadAuthorization(
            card_number=card.number,
            load_seq=seq,
            purse_code=purse,
            amount=amount,
            expiry=expiry,
            issued=dt.date(2026, 11, 1),
            issuer_key_id=self.authority.key_id,
        ).signed_by(self.authority)


@dataclass
class FakeCard:
    """Signs and keeps balances like a card; no PIN, no tear: that is the simulator's job."""

    certificate: CardCertificate
    key: SigningKey
    balances: dict[str, int]
    counter: int = 0

    @property
    def number(self) -> str:
        return self.certificate.card_number

    def others(self, moved: set[str]) -> tuple[PurseBalance, ...]:
        """The purses a message did not move, with their balances (v2: every message carries
        every purse)."""
        return tuple(PurseBalance(c, b) for c, b in sorted(self.balances.items()) if c not in moved)

    def apply_load(self, auth: LoadAuthorization, terminal_id: str, time: int) -> LoadReceipt:
        self.counter += 1
        self.balances[auth.purse_code] = self.balances.get(auth.purse_code, 0) + auth.amount
        return LoadReceipt(
            card_number=self.number,
            counter=self.counter,
            terminal_id=terminal_id,
            nonce=os.urandom(16),
            time=time,
            load_seq=auth.load_seq,
            purse_code=auth.purse_code,
            amount=auth.amount,
            expired_swept=0,
            balance_after=self.balances[auth.purse_code],
            expiry=auth.expiry,
            others=self.others({auth.purse_code}),
        ).signed_by(self.key)

    def debit(
        self,
        terminal_id: str,
        time: int,
        body: SaleBody,
        quantities: tuple[tuple[int, int], ...] = (),
    ) -> DebitProof:
        self.counter += 1
        movements = []
        for code, amount in sorted(body.purse_totals().items()):
            self.balances[code] = self.balances.get(code, 0) - amount
            movements.append(PurseMovement(code, amount, self.balances[code]))
        period = encode_period(business_date(time))  # as the card counts: the WITA month
        per_category: dict[int, int] = {}
        for category, quantity in quantities:  # a card counts each category once per debit
            per_category[category] = per_category.get(category, 0) + quantity
        qty = tuple(QuantityMovement(c, period, q, q) for c, q in sorted(per_category.items()))
        return DebitProof(
            card_number=self.number,
            counter=self.counter,
            terminal_id=terminal_id,
            nonce=os.urandom(16),
            time=time,
            basket_digest=body.digest(),
            purses=tuple(movements),
            quantities=qty,
            others=self.others({m.code for m in movements}),
        ).signed_by(self.key)

    def block(self, order: BlockOrder, terminal_id: str, time: int) -> BlockReceipt:
        """Like the card (simulators/card/operations.py block()): the counter does not move."""
        return BlockReceipt(
            card_number=self.number,
            counter=self.counter,
            terminal_id=terminal_id,
            time=time,
            reason=order.reason,
        ).signed_by(self.key)


RICE_5KG = SaleLine(
    gtin="8992761100017",
    name="Beras Medium 5 kg",
    category=1,
    quantity=1,
    unit_base_quantity=5000,
    shelf_price=72_000,
    het=70_000,
    unit_price=70_000,
    paid=(("APBD", 70_000),),
)


def sale_draft(certificate: CardCertificate, lines: tuple[SaleLine, ...]) -> SaleBody:
    """A sale body before the card's proof: what the card is asked to sign (its digest)."""
    return SaleBody(
        card_number=certificate.card_number,
        card_certificate=certificate.encode(),
        card_proof=b"",
        catalog_version=1,
        lines=lines,
        cash=sum(line.cash for line in lines),
        cashier="kasir-1",
    )


@dataclass
class FakeTerminal:
    terminal_id: str = "SMD-0001"
    key: SigningKey = field(default_factory=SigningKey.generate)
    seq: int = 0
    prev: bytes = GENESIS_HASH
    records: list[Record] = field(default_factory=list)

    def append(self, record_type: RecordType, body: dict[str, object], time: int = T0) -> Record:
        self.seq += 1
        record = Record(
            type=record_type,
            id=new_id(),
            terminal_id=self.terminal_id,
            seq=self.seq,
            prev_hash=self.prev,
            time=time,
            body=body,
        ).signed_by(self.key)
        self.prev = record.hash()
        self.records.append(record)
        return record

    def sell(
        self, card: FakeCard, lines: tuple[SaleLine, ...] = (RICE_5KG,), time: int = T0
    ) -> Record:
        draft = sale_draft(card.certificate, lines)
        quantities = tuple(
            (line.category, line.base_quantity) for line in lines if line.category == 1
        )
        proof = card.debit(self.terminal_id, time, draft, quantities)
        body = dataclasses.replace(draft, card_proof=proof.encode())
        return self.append(RecordType.SALE, body.to_value(), time)
