"""Tables of programs, recipients and aid batches (registered on ``host_gateway.models.Base``;
migration 0005 makes them).

Personal data (S4): the NIK is sealed (AES-GCM under the NIK data key) and found by a keyed hash;
the KK (family card) number is kept only as a keyed hash, enough to find a household. Religion is
checked at import against a program's eligibility rule and not stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from host_gateway.models import Base


class ProgramTerms(Base):
    """What a program gives, how often, and to whom (the program row itself is ``programs``)."""

    __tablename__ = "program_terms"
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"), primary_key=True)
    funder_kind: Mapped[str] = mapped_column(String(16))
    categories: Mapped[str] = mapped_column(Text)
    """Eligible catalog categories, comma-separated."""
    benefit: Mapped[int] = mapped_column(BigInteger)
    """Rupiah loaded per recipient per period."""
    period_months: Mapped[int] = mapped_column(Integer)
    load_day: Mapped[int] = mapped_column(Integer)
    """Day of the period's first month the aid is loaded (1-28)."""
    expiry_periods: Mapped[int] = mapped_column(Integer)
    """Unspent aid expires at the end of this many periods, counting the one it was loaded in."""
    eligibility: Mapped[str] = mapped_column(String(16))
    """"" (anyone registered) or "muslim" (BAZNAS zakat): checked at import, never printed."""
    households_allowed: Mapped[bool] = mapped_column(Boolean)
    """More than one active recipient in the same household (KK) may receive it."""
    updated: Mapped[int] = mapped_column(BigInteger)


class Recipient(Base):
    __tablename__ = "recipients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    nik_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    nik_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    kk_hash: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    kelurahan: Mapped[str] = mapped_column(String(40))
    kecamatan: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(8))
    """active or left."""
    card_number: Mapped[str | None] = mapped_column(String(16))
    """The recipient's current card (none before issuance and after it is closed)."""
    created: Mapped[int] = mapped_column(BigInteger)


class RecipientProgram(Base):
    __tablename__ = "recipient_programs"
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), primary_key=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"), primary_key=True)


class CardLife(Base):
    """Which recipient a card belongs to and how it ended (replaced, closed); the value the
    host took off it at the end is in the account ``withdrawn:CARD:P``."""

    __tablename__ = "card_lives"
    card_number: Mapped[str] = mapped_column(ForeignKey("cards.number"), primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), index=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    """replaced (lost or damaged) or closed (the recipient left)."""
    replaced_by: Mapped[str | None] = mapped_column(String(16))


class AidBatch(Base):
    """The loads of one program period: prepared by one operator, approved by another."""

    __tablename__ = "aid_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"))
    period: Mapped[dt.date] = mapped_column(Date)
    """First day of the period."""
    load_date: Mapped[dt.date] = mapped_column(Date)
    expiry: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    cards: Mapped[int] = mapped_column(Integer)
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_at: Mapped[int] = mapped_column(BigInteger)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_aid_batches_period", "program_code", "period", unique=True),)


class AidLine(Base):
    """One card's aid in a batch; ``load_seq`` is set when the issuer signs it."""

    __tablename__ = "aid_lines"
    batch_id: Mapped[int] = mapped_column(ForeignKey("aid_batches.id"), primary_key=True)
    card_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    recipient_id: Mapped[int] = mapped_column(Integer)
    load_seq: Mapped[int | None] = mapped_column(BigInteger)
