"""Receipts from committed records: what the sale engine calls after the commit, so wiring
printing into a sale is one call per record kind.

Everything on the paper comes from the signed record and the card's proof inside it (amounts
per purse, balances left); only what the record does not carry (purse labels and expiry dates,
the shop's name, whether the record is synced) comes from the caller.
"""

from __future__ import annotations

from ledger.bodies import DayCloseBody, SaleBody, VoidBody
from ledger.cardproofs import DebitProof, PurseMovement, VoidProof
from ledger.record import Record, RecordType
from terminal.receipts.compose import compose_balance, print_jobs
from terminal.receipts.config import PurseBook, ReceiptConfig, ReceiptContext
from terminal.receipts.jobs import JobKind
from terminal.receipts.model import (
    BalanceSlip,
    DayCloseReport,
    MaskedCard,
    PurseAmount,
    PurseBalance,
    ReceiptLine,
    RecordRef,
    SaleReceipt,
    ShopInfo,
    VoidSlip,
)


def _label(purses: PurseBook, code: str) -> str:
    info = purses.get(code)
    return info.label if info is not None else ""


def _balances(movements: tuple[PurseMovement, ...], purses: PurseBook) -> tuple[PurseBalance, ...]:
    return tuple(
        PurseBalance(
            code=m.code,
            label=_label(purses, m.code),
            balance=m.balance_after,
            expires=purses[m.code].expires if m.code in purses else None,
        )
        for m in movements
    )


def record_ref(record: Record) -> RecordRef:
    return RecordRef(record.terminal_id, record.seq, record.id, record.hash())


def _expect(record: Record, kind: RecordType) -> None:
    if record.type is not kind:
        raise ValueError(f"expected a {kind} record, got {record.type}")


def sale_receipt(record: Record, shop: ShopInfo, purses: PurseBook, offline: bool) -> SaleReceipt:
    """The receipt of a committed sale record (signed; its hash goes into the QR code)."""
    _expect(record, RecordType.SALE)
    body = SaleBody.from_value(record.body)
    proof = DebitProof.decode(body.card_proof)
    lines = tuple(
        ReceiptLine(
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            shelf_price=line.shelf_price,
            het=line.het,
            paid=tuple(PurseAmount(code, _label(purses, code), amt) for code, amt in line.paid),
            cash=line.cash,
        )
        for line in body.lines
    )
    totals = tuple(
        PurseAmount(code, _label(purses, code), amount)
        for code, amount in sorted(body.purse_totals().items())
    )
    return SaleReceipt(
        shop=shop,
        ref=record_ref(record),
        time=record.time,
        cashier=body.cashier,
        lines=lines,
        purse_totals=totals,
        cash=body.cash,
        balances=_balances(proof.purses, purses),
        card=MaskedCard.from_number(body.card_number),
        offline=offline,
    )


def void_slip(
    record: Record, shop: ShopInfo, purses: PurseBook, cashier: str, offline: bool
) -> VoidSlip:
    _expect(record, RecordType.VOID)
    body = VoidBody.from_value(record.body)
    proof = VoidProof.decode(body.card_proof)
    return VoidSlip(
        shop=shop,
        ref=record_ref(record),
        time=record.time,
        cashier=cashier,
        supervisor=body.supervisor,
        original_terminal_id=record.terminal_id,
        original_seq=body.original_seq,
        original_id=body.original_id,
        reason=body.reason,
        returned=tuple(PurseAmount(m.code, _label(purses, m.code), m.amount) for m in proof.purses),
        balances=_balances(proof.purses, purses),
        card=MaskedCard.from_number(body.card_number),
        offline=offline,
    )


def day_close_report(
    record: Record, shop: ShopInfo, purses: PurseBook, cashier: str, offline: bool
) -> DayCloseReport:
    _expect(record, RecordType.DAY_CLOSE)
    body = DayCloseBody.from_value(record.body)
    return DayCloseReport(
        shop=shop,
        ref=record_ref(record),
        time=record.time,
        cashier=cashier,
        business_date=body.business_date,
        first_seq=body.first_seq,
        last_seq=body.last_seq,
        sale_count=body.sale_count,
        card_total=body.card_total,
        cash_total=body.cash_total,
        void_count=body.void_count,
        void_total=body.void_total,
        load_count=body.load_count,
        load_total=body.load_total,
        purse_totals=tuple(
            PurseAmount(code, _label(purses, code), amount)
            for code, amount in sorted(body.purse_totals.items())
        ),
        offline=offline,
    )


def receipts_for_record(record: Record, context: ReceiptContext) -> list[tuple[JobKind, bytes]]:
    """The print jobs of a signed record, in printing order (sale: customer then shop copy).

    Made to be called with the freshly signed record inside the journal's commit, so the
    receipt bytes (QR with the record's hash) are stored in the same transaction as the record.
    Loads and blocks print nothing.
    """
    c = context
    if record.type is RecordType.SALE:
        return print_jobs(sale_receipt(record, c.shop, c.purses, c.offline), c.config)
    if record.type is RecordType.VOID:
        slip = void_slip(record, c.shop, c.purses, c.cashier, c.offline)
        return print_jobs(slip, c.config)
    if record.type is RecordType.DAY_CLOSE:
        report = day_close_report(record, c.shop, c.purses, c.cashier, c.offline)
        return print_jobs(report, c.config)
    return []


class EscposComposer:
    """The sale engine's receipt composer (:class:`terminal.sale.ports.ReceiptComposer`):
    ESC/POS bytes through python-escpos."""

    def for_record(self, record: Record, context: ReceiptContext) -> list[tuple[JobKind, bytes]]:
        return receipts_for_record(record, context)

    def balance_slip(self, slip: BalanceSlip, config: ReceiptConfig) -> bytes:
        return compose_balance(slip, config)
