"""Receipts to ESC/POS bytes: sale (customer and shop copy), void slip, balance slip and the
day-close (Z) report, plus the SALINAN mark a reprint carries.

Pure functions of a typed receipt (:mod:`terminal.receipts.model`) and a :class:`ReceiptConfig`:
the same receipt always gives the same bytes, so they can be committed with the sale and
printed (or reprinted) later without the sale engine.
"""

from __future__ import annotations

from terminal.receipts.config import ReceiptConfig
from terminal.receipts.escpos_writer import ReceiptWriter
from terminal.receipts.jobs import JobKind
from terminal.receipts.model import (
    BalanceSlip,
    Copy,
    DayCloseReport,
    PurseAmount,
    PurseBalance,
    Receipt,
    RecordRef,
    SaleReceipt,
    ShopInfo,
    VoidSlip,
)
from terminal.receipts.strings import ReceiptStrings, day, money, purse_label, strings_for, when

CUT_SUFFIX = b"\n\n\n\n\x1dVB\x00"
"""How every composed receipt ends (feed past the tear bar, then cut): where a reprint's
closing mark goes."""


class _Composer:
    """One receipt being laid out: the writer plus the words and money format of the config."""

    def __init__(self, config: ReceiptConfig) -> None:
        self.config = config
        self.lang = config.language
        self.s: ReceiptStrings = strings_for(config.language)
        self.w = ReceiptWriter(config.profile)

    def money(self, amount: int) -> str:
        return money(amount, self.lang)

    def label(self, code: str, label: str) -> str:
        return purse_label(label, code, self.lang)

    def header(self, shop: ShopInfo, title: str, subtitle: str | None, offline: bool) -> None:
        w = self.w
        w.line(shop.name, align="center", big=True, bold=True)
        for part in shop.address.splitlines() or [""]:
            if part.strip():
                w.line(part, align="center")
        if shop.merchant_id:
            w.line(shop.merchant_id, align="center")
        w.rule("=")
        w.line(title, align="center", bold=True)
        if subtitle:
            w.line(subtitle, align="center")
        if offline:
            w.line(f"*** {self.s.offline} ***", align="center", bold=True)
        w.rule()

    def facts(self, rows: list[tuple[str, str]]) -> None:
        for name, value in rows:
            self.w.pair(name, value)

    def record_facts(self, ref: RecordRef, time: int, cashier: str) -> None:
        self.facts(
            [
                (self.s.terminal, ref.terminal_id),
                (self.s.record_no, f"{ref.seq:06d}"),
                (self.s.time, when(time, self.lang)),
                (self.s.cashier, cashier),
            ]
        )

    def amounts(self, heading: str | None, amounts: tuple[PurseAmount, ...]) -> None:
        if heading:
            self.w.line(f"{heading}:")
        for part in amounts:
            self.w.pair(f"  {self.label(part.code, part.label)}", self.money(part.amount))

    def balances(self, balances: tuple[PurseBalance, ...]) -> None:
        self.w.line(f"{self.s.balance_left}:")
        for purse in balances:
            self.w.pair(f"  {self.label(purse.code, purse.label)}", self.money(purse.balance))
            if purse.expires is not None:
                self.w.line(f"    {self.s.until} {day(purse.expires, self.lang)}")

    def qr(self, ref: RecordRef) -> None:
        self.w.feed()
        self.w.qr(ref.qr_payload())
        self.w.line(f"Ref {ref.short}", align="center")
        self.w.line(self.s.scan_hint, align="center")

    def close(self, thanks: bool = True) -> bytes:
        if thanks:
            self.w.line(self.s.thanks, align="center")
        for line in self.config.footer:
            self.w.line(line, align="center")
        self.w.cut()
        return self.w.output()


def compose_sale(receipt: SaleReceipt, copy: Copy, config: ReceiptConfig) -> bytes:
    """A sale receipt; the customer copy shows the balances left, the shop copy does not."""
    c = _Composer(config)
    s, w = c.s, c.w
    subtitle = s.customer_copy if copy is Copy.CUSTOMER else s.shop_copy
    c.header(receipt.shop, s.sale_title, subtitle, receipt.offline)
    c.record_facts(receipt.ref, receipt.time, receipt.cashier)
    w.rule()
    for line in receipt.lines:
        w.wrapped(line.name, indent=2)
        mark = f" {s.het_mark}" if line.het_capped else ""
        w.pair(f"  {line.quantity} x {c.money(line.unit_price)}{mark}", c.money(line.amount))
        if line.het_capped:
            w.wrapped("  " + s.shelf_price_het.format(shelf=c.money(line.shelf_price)), indent=4)
        payers = [c.label(p.code, p.label) for p in line.paid]
        if len(line.paid) > 1 or line.cash:
            payers = [f"{c.label(p.code, p.label)} {c.money(p.amount)}" for p in line.paid]
            if line.cash:
                payers.append(f"{s.cash} {c.money(line.cash)}")
        w.flowed(f"  {s.paid_by}: ", payers)
    w.rule()
    for part in receipt.purse_totals:
        w.pair(f"{s.card_part} {c.label(part.code, part.label)}", c.money(part.amount))
    if receipt.cash:
        w.pair(s.cash, c.money(receipt.cash))
    w.pair(s.total, c.money(receipt.total), bold=True)
    w.rule()
    w.pair(s.card, receipt.card.text)
    if copy is Copy.CUSTOMER and receipt.balances:
        c.balances(receipt.balances)
    w.rule()
    c.qr(receipt.ref)
    return c.close()


def compose_void(slip: VoidSlip, config: ReceiptConfig) -> bytes:
    """The holder's slip for a void: what went back to which purse, and the balances now."""
    c = _Composer(config)
    s, w = c.s, c.w
    c.header(slip.shop, s.void_title, s.customer_copy, slip.offline)
    c.record_facts(slip.ref, slip.time, slip.cashier)
    w.pair(s.supervisor, slip.supervisor)
    w.rule()
    w.pair(s.void_of, f"{slip.original_terminal_id}/{slip.original_seq:06d}")
    w.wrapped(f"{s.reason}: {slip.reason}", indent=2)
    w.rule()
    c.amounts(s.returned, slip.returned)
    w.pair(s.total, c.money(slip.total), bold=True)
    w.rule()
    w.pair(s.card, slip.card.text)
    if slip.balances:
        c.balances(slip.balances)
    w.rule()
    c.qr(slip.ref)
    return c.close(thanks=False)


def compose_balance(slip: BalanceSlip, config: ReceiptConfig) -> bytes:
    """A balance inquiry: no money moved, so no record reference and no QR code."""
    c = _Composer(config)
    s, w = c.s, c.w
    c.header(slip.shop, s.balance_title, None, offline=False)
    c.facts([(s.terminal, slip.terminal_id), (s.time, when(slip.time, c.lang))])
    w.pair(s.card, slip.card.text)
    w.rule()
    c.balances(slip.balances)
    for code, due in slip.next_aid:
        w.pair(f"{s.next_aid} {code}", day(due, c.lang))
    w.rule()
    w.line(s.balance_note, align="center")
    return c.close()


def compose_day_close(report: DayCloseReport, config: ReceiptConfig) -> bytes:
    """The Z report, shop paper only."""
    c = _Composer(config)
    s, w = c.s, c.w
    c.header(report.shop, s.z_title, s.shop_copy, report.offline)
    c.record_facts(report.ref, report.time, report.cashier)
    c.facts(
        [
            (s.business_date, day(report.business_date, c.lang)),
            (s.seq_range, f"{report.first_seq:06d}-{report.last_seq:06d}"),
        ]
    )
    w.rule()
    c.facts(
        [
            (f"{s.sales} ({report.sale_count})", c.money(report.card_total + report.cash_total)),
            (f"  {s.card_total}", c.money(report.card_total)),
            (f"  {s.cash_total}", c.money(report.cash_total)),
            (f"{s.voids} ({report.void_count})", c.money(-report.void_total)),
            (f"{s.loads} ({report.load_count})", c.money(report.load_total)),
        ]
    )
    w.rule()
    c.amounts(s.per_purse, report.purse_totals)
    w.rule()
    c.qr(report.ref)
    return c.close(thanks=False)


def compose(receipt: Receipt, config: ReceiptConfig, copy: Copy = Copy.CUSTOMER) -> bytes:
    """Any receipt kind; ``copy`` matters for sales only."""
    match receipt:
        case SaleReceipt():
            return compose_sale(receipt, copy, config)
        case VoidSlip():
            return compose_void(receipt, config)
        case BalanceSlip():
            return compose_balance(receipt, config)
        case DayCloseReport():
            return compose_day_close(receipt, config)
    raise TypeError(f"not a receipt: {type(receipt).__name__}")


def print_jobs(receipt: Receipt, config: ReceiptConfig) -> list[tuple[JobKind, bytes]]:
    """The print jobs the journal commits with a record, in printing order."""
    match receipt:
        case SaleReceipt():
            return [
                (JobKind.SALE_CUSTOMER, compose_sale(receipt, Copy.CUSTOMER, config)),
                (JobKind.SALE_SHOP, compose_sale(receipt, Copy.SHOP, config)),
            ]
        case VoidSlip():
            return [(JobKind.VOID, compose_void(receipt, config))]
        case BalanceSlip():
            return [(JobKind.BALANCE, compose_balance(receipt, config))]
        case DayCloseReport():
            return [(JobKind.DAY_CLOSE, compose_day_close(receipt, config))]
    raise TypeError(f"not a receipt: {type(receipt).__name__}")


def _with_banner(data: bytes, head: list[str], tail: str | None, config: ReceiptConfig) -> bytes:
    """Stored receipt bytes with a banner on top (first line big) and one line above the cut."""
    banner = ReceiptWriter(config.profile)
    for index, text in enumerate(head):
        banner.line(text, align="center", big=index == 0, bold=index == 0)
    banner.rule("*")
    top = banner.output()
    bottom = b""
    if tail is not None:
        closing = ReceiptWriter(config.profile)
        closing.line(tail, align="center", bold=True)
        bottom = closing.output()
    if data.endswith(CUT_SUFFIX):
        return top + data[: -len(CUT_SUFFIX)] + bottom + CUT_SUFFIX
    return top + data + bottom


def mark_reprint(data: bytes, time: int, config: ReceiptConfig) -> bytes:
    """Stored receipt bytes as a reprint: a SALINAN banner with the reprint time on top and
    SALINAN again above the cut, so no copy can pass for the original."""
    s = strings_for(config.language)
    mark = f"*** {s.reprint} ***"
    return _with_banner(data, [mark, s.reprinted_at, when(time, config.language)], mark, config)


def mark_held(data: bytes, seq: int | None, time: int | None, config: ReceiptConfig) -> bytes:
    """A held holder's receipt printed away from its own sale: a header naming its transaction,
    so nobody at the counter takes it for the sale in front of them."""
    s = strings_for(config.language)
    head = [f"*** {s.held} ***"]
    head.append(s.held_of_earlier if seq is None else s.held_of.format(seq=f"{seq:06d}"))
    if time is not None:
        head.append(when(time, config.language))
    return _with_banner(data, head, None, config)
