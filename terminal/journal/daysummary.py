"""The Z report's totals, computed from one business day's records (not from loose counters)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ledger.bodies import DayCloseBody, LoadBody, SaleBody, VoidBody
from ledger.cardproofs import LoadReceipt, VoidProof
from ledger.record import Record, RecordType


def summarize(day: dt.date, records: Iterable[Record]) -> DayCloseBody:
    """Totals over ``records`` (one business day's, day closes excluded, in sequence order).

    Card totals are what the cards signed: a sale's purse payments, a void's returned amounts
    (from the card's void proof), a load's credited amount. Cash is the split-tender part of
    sales; it is recorded, never settled. ``purse_totals`` is net: sales minus voids per purse.
    """
    first_seq = last_seq = 0
    sale_count = card_total = cash_total = 0
    void_count = void_total = load_count = load_total = 0
    purses: dict[str, int] = {}
    for record in records:
        first_seq = first_seq or record.seq
        last_seq = record.seq
        if record.type == RecordType.SALE:
            sale = SaleBody.from_value(record.body)
            sale_count += 1
            card_total += sale.card_total
            cash_total += sale.cash
            for code, amount in sale.purse_totals().items():
                purses[code] = purses.get(code, 0) + amount
        elif record.type == RecordType.VOID:
            proof = VoidProof.decode(VoidBody.from_value(record.body).card_proof)
            void_count += 1
            void_total += proof.total
            for movement in proof.purses:
                purses[movement.code] = purses.get(movement.code, 0) - movement.amount
        elif record.type == RecordType.LOAD:
            receipt = LoadReceipt.decode(LoadBody.from_value(record.body).card_receipt)
            load_count += 1
            load_total += receipt.amount
    return DayCloseBody(
        business_date=day,
        first_seq=first_seq,
        last_seq=last_seq,
        sale_count=sale_count,
        card_total=card_total,
        cash_total=cash_total,
        void_count=void_count,
        void_total=void_total,
        load_count=load_count,
        load_total=load_total,
        purse_totals=dict(sorted(purses.items())),
    )
