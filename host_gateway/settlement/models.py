"""Settlement tables (the migration is ``0006``). Imported by :mod:`host_gateway.models` so the
metadata the migrations are compared with holds them.

Money is integer rupiah; times are host unix seconds; JSON text holds per-program amounts.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from host_gateway.models import Base


class SettlementWindow(Base):
    """A closed business-day window; an open window has no row. Never changed once written."""

    __tablename__ = "settlement_windows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_date: Mapped[dt.date] = mapped_column(Date, unique=True)
    cutoff: Mapped[int] = mapped_column(BigInteger)
    """Movements whose own time is before this (and not in an earlier window) are in it."""
    closed_at: Mapped[int] = mapped_column(BigInteger)
    closed_by: Mapped[str] = mapped_column(String(64))
    suspense: Mapped[str] = mapped_column(Text)
    """Per program, what sat in suspense at close (a debit no shop is owed for yet), JSON."""


class SettlementEntry(Base):
    """A journal entry that moved a shop's money, and the window it was settled in (once)."""

    __tablename__ = "settlement_entries"
    entry_id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    window_id: Mapped[int] = mapped_column(Integer)
    """No index: written a million at a close and read by no query (close uses its own scan)."""


class SettlementShop(Base):
    """One shop in one window: what the window's movements owe it, what is held, what is paid."""

    __tablename__ = "settlement_shops"
    window_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    owed: Mapped[int] = mapped_column(BigInteger)
    """Net of the window's movements (sales less cancellations and refunds)."""
    by_program: Mapped[str] = mapped_column(Text)
    """``owed`` per program (purse code), JSON: {"APBD": 70000}."""
    payable: Mapped[int] = mapped_column(BigInteger)
    """Everything owed at close that is not later than the cut-off (earlier windows included)."""
    held: Mapped[int] = mapped_column(BigInteger)
    """Unexplained credit held from the shop (gaps.held_by_shop): not paid."""
    payout: Mapped[int] = mapped_column(BigInteger)
    """payable - held when the shop has a bank account, never below 0."""
    note: Mapped[str] = mapped_column(Text)


class ShopBankAccount(Base):
    __tablename__ = "shop_bank_accounts"
    shop_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    bic: Mapped[str] = mapped_column(String(11))
    account_number: Mapped[str] = mapped_column(String(34))
    holder_name: Mapped[str] = mapped_column(String(70))
    updated_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(64))


class GiroAccount(Base):
    """Dinas Sosial's giro parent account at the distributing bank: the payer of every payout."""

    __tablename__ = "giro_account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bic: Mapped[str] = mapped_column(String(11))
    account_number: Mapped[str] = mapped_column(String(34))
    holder_name: Mapped[str] = mapped_column(String(70))


class Payout(Base):
    """The payout instruction of one window: prepared by one operator, released by another."""

    __tablename__ = "payouts"
    window_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_at: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    giro_bic: Mapped[str] = mapped_column(String(11))
    giro_account: Mapped[str] = mapped_column(String(34))
    giro_name: Mapped[str] = mapped_column(String(70))
    """The payer as it was at preparation: regenerating the file gives the same bytes."""
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[int | None] = mapped_column(BigInteger)


class PayoutItem(Base):
    """One credit transfer to one shop, with the bank account as it was at close."""

    __tablename__ = "payout_items"
    end_to_end_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    window_id: Mapped[int] = mapped_column(Integer, index=True)
    shop_id: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    bic: Mapped[str] = mapped_column(String(11))
    account_number: Mapped[str] = mapped_column(String(34))
    holder_name: Mapped[str] = mapped_column(String(70))
    status: Mapped[str] = mapped_column(String(16))
    """owed (closed, file not released), released, accepted (pain.002 ACSC), paid (on a
    statement) or rejected (back to the shop's payable)."""
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[int] = mapped_column(BigInteger)


class BankStatement(Base):
    """An imported camt.053 (or pain.002 report): imported once, by its id and bytes."""

    __tablename__ = "bank_statements"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """``camt053:<Stmt/Id>`` or ``pain002:<MsgId>``."""
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    closing_balance: Mapped[int | None] = mapped_column(BigInteger)
    imported_at: Mapped[int] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(Text)
