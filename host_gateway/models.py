"""The gateway's tables (SQLAlchemy 2). The schema itself is made by the Alembic migrations in
``host_gateway/migrations``; a test proves these models and the migrations agree.

Times are unix seconds (host clock) as integers; money is integer rupiah; ids of records are the
16 raw bytes of their UUID so SQLite and PostgreSQL store and compare them the same way.
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
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BIG_ID = BigInteger().with_variant(Integer, "sqlite")
"""64-bit ids on PostgreSQL; SQLite autoincrements only an INTEGER primary key."""


class Base(DeclarativeBase):
    pass


class IssuerKey(Base):
    """The issuer's private keys, encrypted with the operator passphrase (S4: keys at rest)."""

    __tablename__ = "issuer_keys"
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(4))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    encrypted_pem: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[int] = mapped_column(BigInteger)


class SealedSecret(Base):
    """Symmetric data keys (e.g. for NIK) wrapped by a key derived from the passphrase."""

    __tablename__ = "sealed_secrets"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Counter(Base):
    """Named monotonic counters: terminal numbers, certificate serials, distribution versions."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Shop(Base):
    __tablename__ = "shops"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    created: Mapped[int] = mapped_column(BigInteger)


class EnrollmentCode(Base):
    """A one-time code; only its SHA-256 is stored, so a database leak enrolls nobody."""

    __tablename__ = "enrollment_codes"
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    created: Mapped[int] = mapped_column(BigInteger)
    expires: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger)
    terminal_id: Mapped[str | None] = mapped_column(String(8))


class Terminal(Base):
    __tablename__ = "terminals"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    issued: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    last_seen: Mapped[int | None] = mapped_column(BigInteger)
    last_skew: Mapped[int | None] = mapped_column(Integer)
    contiguous_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    """Highest seq such that every record 1..seq of this terminal is at the host."""
    last_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class RequestNonce(Base):
    """Nonces of signed requests inside the replay window; older ones are pruned."""

    __tablename__ = "request_nonces"
    terminal_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    seen: Mapped[int] = mapped_column(BigInteger, index=True)


class Program(Base):
    """A funder's program; its code is the purse code on the card (APBD, BZNS, ...)."""

    __tablename__ = "programs"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created: Mapped[int] = mapped_column(BigInteger)


class Card(Base):
    __tablename__ = "cards"
    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    """issuing (certificate made, card not yet written), active, spoiled (issuance failed; the
    number is void), hotlisted, blocked (the card said so) or cloned (two histories seen)."""
    nik_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created: Mapped[int] = mapped_column(BigInteger)


class CardProgram(Base):
    __tablename__ = "card_programs"
    card_number: Mapped[str] = mapped_column(ForeignKey("cards.number"), primary_key=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"), primary_key=True)


class CardTransaction(Base):
    """One per card counter the host has seen: the evidence that detects clones and replays."""

    __tablename__ = "card_transactions"
    card_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    proof_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    record_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    """The record holding the card's message, or the id of the evidence or settled intent."""
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8), server_default="record")
    """record (a terminal's record), evidence (read from the card's log, POST /v1/evidence; its
    money waits for the record) or settled (an operator settled a stuck intent: no message)."""


class PurseProof(Base):
    """Every purse's balance a card signed at one counter, and the counter's own movement: what
    shadow balances must match and what continuity across counter gaps is checked on."""

    __tablename__ = "purse_proofs"
    card_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    purse_code: Mapped[str] = mapped_column(String(4), primary_key=True)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    delta: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """What this transaction moved in the purse (debit negative), 0 for a purse it left alone:
    the balance before it is balance_after - delta."""


_ACCEPTED_BLOCKS = "type = 'block' AND status = 'accepted'"
"""Where a card was blocked, looked up when a sale of a blocked card arrives (few rows, so the
index costs ingest nothing for sales)."""
_HELD_SALES = "type = 'sale' AND status <> 'accepted'"
"""Sales held with a reason, what operators review for release (few rows)."""


class StoredRecord(Base):
    """Every record the host holds, with the outcome it was given (returned again on retry).

    A record is known by its terminal and its id: ids are printed on receipts, so a terminal that
    could hold an id for all terminals could take over another shop's genuine sale."""

    __tablename__ = "records"
    id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    """SHA-256 of the record's encoding: also its chain hash."""
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    terminal_time: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    in_chain: Mapped[bool] = mapped_column(Boolean)
    """False when another record already holds this terminal's seq (a forked chain)."""
    card_number: Mapped[str | None] = mapped_column(String(16))
    card_counter: Mapped[int | None] = mapped_column(BigInteger)
    voids_record: Mapped[bytes | None] = mapped_column(LargeBinary(16))

    __table_args__ = (
        Index(
            "ix_records_chain",
            "terminal_id",
            "seq",
            unique=True,
            sqlite_where=text("in_chain"),
            postgresql_where=text("in_chain"),
        ),
        Index("ix_records_terminal_seq", "terminal_id", "seq"),
        # a card's records by counter: its history (cardview.history, records list --card) and
        # the time rules' look-up of a card's counter. Not (card, time): SQLite then chose it
        # over the primary key to join a card's counter, reading all the card's records per
        # sale (catch-up of 10,000 went quadratic, 1.9 s -> 27 s).
        Index("ix_records_card", "card_number", "card_counter"),
        Index(
            "ix_records_blocks",
            "card_number",
            sqlite_where=text(_ACCEPTED_BLOCKS),
            postgresql_where=text(_ACCEPTED_BLOCKS),
        ),
        Index(
            "ix_records_held",
            "terminal_time",
            sqlite_where=text(_HELD_SALES),
            postgresql_where=text(_HELD_SALES),
        ),
        Index(
            "ix_records_voids",
            "terminal_id",
            "voids_record",
            unique=True,
            sqlite_where=text("voids_record IS NOT NULL AND status = 'accepted'"),
            postgresql_where=text("voids_record IS NOT NULL AND status = 'accepted'"),
        ),
    )


class HeldRelease(Base):
    """A held sale released to its shop: one operator asks, another approves; then its money
    moves from suspense to the shop (host_gateway/releases.py)."""

    __tablename__ = "held_releases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    terminal_id: Mapped[str] = mapped_column(String(8))
    seq: Mapped[int] = mapped_column(BigInteger)
    shop_id: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(32))
    """Why the host held it."""
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[int | None] = mapped_column(BigInteger)


class RecordId(Base):
    """PostgreSQL only: the keys of every record that exactly-once ingest relies on across all
    time. ``records`` is partitioned by month there, and a partitioned table's unique keys hold
    only within a month; this small table holds them for good, written in the same transaction
    (migration 0007). On SQLite ``records`` keeps them itself."""

    __tablename__ = "record_ids"
    terminal_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    in_chain: Mapped[bool] = mapped_column(Boolean)
    voids_record: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    """The sale an accepted void cancelled (a sale is voided once)."""
    received_at: Mapped[int] = mapped_column(BigInteger)
    """The record's partition."""

    __table_args__ = (
        Index(
            "ix_record_ids_chain",
            "terminal_id",
            "seq",
            unique=True,
            postgresql_where=text("in_chain"),
        ),
        Index(
            "ix_record_ids_voids",
            "terminal_id",
            "voids_record",
            unique=True,
            postgresql_where=text("voids_record IS NOT NULL"),
        ),
        {"info": {"postgresql_only": True}},
    )


class PublishedDocument(Base):
    """Signed catalog and config documents, every version kept."""

    __tablename__ = "documents"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    published: Mapped[int] = mapped_column(BigInteger)


class HotlistEntry(Base):
    """One change to the hotlist; the hotlist version is the highest entry version."""

    __tablename__ = "hotlist"
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    card_number: Mapped[str] = mapped_column(String(16), index=True)
    action: Mapped[str] = mapped_column(String(8))
    reason: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    block_order: Mapped[bytes | None] = mapped_column(LargeBinary)
    added: Mapped[int] = mapped_column(BigInteger)


class HotlistFetch(Base):
    """A terminal had this hotlist version when its journal was at ``seq``."""

    __tablename__ = "hotlist_fetches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal_id: Mapped[str] = mapped_column(String(8), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[int] = mapped_column(BigInteger)


class Load(Base):
    __tablename__ = "loads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_number: Mapped[str] = mapped_column(ForeignKey("cards.number"))
    load_seq: Mapped[int] = mapped_column(BigInteger)
    purse_code: Mapped[str] = mapped_column(String(4))
    amount: Mapped[int] = mapped_column(BigInteger)
    expiry: Mapped[dt.date] = mapped_column(Date)
    authorization: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    """Distribution version: set when created and again when applied."""
    applied_record: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    applied_at: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_loads_card_seq", "card_number", "load_seq", unique=True),)


class LoadSupersession(Base):
    """A load its card never took before the card ended (replaced or closed): carried to the
    replacement card as the load ``carried_to``, or, None, its money back to the program's fund.
    No longer delivered; a receipt of it from the old card is held (``load_superseded``). A table
    of its own, not a column of ``loads``: only card ends write it, only delivery and ended cards
    read it."""

    __tablename__ = "load_supersessions"
    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id"), primary_key=True)
    carried_to: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[int] = mapped_column(BigInteger)


class PinUnblock(Base):
    """An issuer-signed PIN-unblock order for one card (docs/card-protocol.md, UNBLOCK PIN): open
    until a terminal's ``pin_unblock`` record carries the card's receipt for it (or it expires)."""

    __tablename__ = "pin_unblocks"
    card_number: Mapped[str] = mapped_column(ForeignKey("cards.number"), primary_key=True)
    unblock_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tries: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    order: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[int | None] = mapped_column(BigInteger)
    """When the host learnt the card applied it (a record's receive time): set, it is closed."""
    applied_terminal: Mapped[str | None] = mapped_column(String(8))
    """The terminal (or office reader) the card's receipt names."""
    applied_record: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    """The terminal's ``pin_unblock`` record; none when applied through a reader at the host."""
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The card's signed PinUnblockReceipt that closed it: the same receipt again is a replay."""


class Account(Base):
    """A double-entry account; balance is the sum of its lines (debit positive)."""

    __tablename__ = "accounts"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    balance: Mapped[int] = mapped_column(BigInteger)


class DaySales(Base):
    """Accepted sales and cancellations per business day (WITA) and shop, by the host's receive
    time: the dashboard's counts without reading the day's records. Written by ingest in the
    batch's own transaction (a batch is one terminal, so one shop, received at one moment)."""

    __tablename__ = "day_sales"
    day: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    """Unix seconds of 00:00 WITA."""
    shop_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    sales: Mapped[int] = mapped_column(BigInteger)
    voids: Mapped[int] = mapped_column(BigInteger)


class DayProgramSales(Base):
    """What those records moved per program (card-signed, a sale's debit less a cancellation's
    credit): the dashboard's "sales today" per program. Keyed by shop, not only by program,
    because a shop's batches already serialize on its account row: a row per program alone
    would be one more lock every batch of every shop waits for."""

    __tablename__ = "day_program_sales"
    day: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    purse_code: Mapped[str] = mapped_column(String(4), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    memo: Mapped[str] = mapped_column(Text)


class JournalLine(Base):
    __tablename__ = "journal_lines"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    # No secondary indexes: written per line, read by no query (migration 0002).
    entry_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    account: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)


class Event(Base):
    """Refusals and flags (attacks, clones, skew): counted by code, kept for the operator."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger, index=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    terminal_id: Mapped[str | None] = mapped_column(String(8))
    record_id: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    card_number: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, server_default="1")
    """How many occurrences this row stands for: refusals of unauthenticated requests are
    summarized (host_gateway.events.RefusalTally), everything else is one row each."""


class CardEvidence(Base):
    """A card-signed message read from a card's log and sent by a terminal (POST /v1/evidence):
    it fills the card's counter history, and moves money no terminal record moved."""

    __tablename__ = "card_evidence"
    id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    card_number: Mapped[str] = mapped_column(String(16))
    counter: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[bytes] = mapped_column(LargeBinary)
    terminal_id: Mapped[str] = mapped_column(String(8))
    """The terminal that sent it (the message itself names the terminal the card served)."""
    received_at: Mapped[int] = mapped_column(BigInteger)
    account: Mapped[str] = mapped_column(String(40))
    """Where its money went: shop:S (a cancellation charged to the sale's shop), suspense (a
    debit no record holds yet), pending (a load closed), or empty (nothing moved)."""
    recorded_by: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    """The terminal record of the same message, once it arrived."""

    __table_args__ = (Index("ix_card_evidence_counter", "card_number", "counter", unique=True),)


class CardGap(Base):
    """A stretch of a card's counters the host has not seen (or a step whose balances do not
    follow), kept while it holds; what it cannot explain is held from a shop. A gap the
    counters fill is removed (its release is an event)."""

    __tablename__ = "card_gaps"
    card_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    after_counter: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    before_counter: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """gap (counters missing) or mismatch (no counter missing, balances do not follow)."""
    changes: Mapped[str] = mapped_column(Text)
    """Per purse, balance before ``before_counter`` minus after ``after_counter``: "APBD:+70000"."""
    credit: Mapped[int] = mapped_column(BigInteger)
    """Rise no load the host issued can explain: held from ``shop_id``."""
    fall: Mapped[int] = mapped_column(BigInteger)
    """Value that left the card in transactions no journal holds (yet)."""
    terminal_id: Mapped[str | None] = mapped_column(String(8))
    """The terminal of the transaction at ``after_counter`` (none before the first)."""
    shop_id: Mapped[str | None] = mapped_column(String(20))
    opened_at: Mapped[int] = mapped_column(BigInteger)
    alerted_at: Mapped[int | None] = mapped_column(BigInteger)


class TerminalCard(Base):
    """A card this terminal has served: it gets that card's pending loads and missing counters
    (S4: no terminal downloads the whole city's loads). ``added_version`` is the loads version
    at which the card joined, so its older pending loads are sent once from then on."""

    __tablename__ = "terminal_cards"
    terminal_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    card_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    added_version: Mapped[int] = mapped_column(BigInteger)


class StuckIntent(Base):
    """An operation a terminal could not resolve with the card (POST /v1/intents)."""

    __tablename__ = "stuck_intents"
    id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(8), index=True)
    card_number: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    expected_counter: Mapped[int] = mapped_column(BigInteger)
    amounts: Mapped[str] = mapped_column(Text)
    """Requested amount per purse, JSON: {"APBD": 70000}."""
    reported_at: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    """The terminal said it resolved the intent itself."""
    settled_at: Mapped[int | None] = mapped_column(BigInteger)
    settled_by: Mapped[str | None] = mapped_column(String(64))
    settle_reason: Mapped[str | None] = mapped_column(Text)


class GatewaySetting(Base):
    """The host's own settings (not sent to terminals), e.g. gap_alert_hours."""

    __tablename__ = "gateway_settings"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Refund(Base):
    """Value given back after the card session: one operator asks, another approves, the issuer
    signs a REFUND load per purse and the sale's shop pays it (docs/api.md)."""

    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[bytes] = mapped_column(LargeBinary(16), index=True)
    terminal_id: Mapped[str] = mapped_column(String(8))
    shop_id: Mapped[str] = mapped_column(String(20))
    card_number: Mapped[str] = mapped_column(String(16))
    card_counter: Mapped[int] = mapped_column(BigInteger)
    amounts: Mapped[str] = mapped_column(Text)
    """Per purse, JSON: {"APBD": 70000}."""
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[int | None] = mapped_column(BigInteger)


# Programs, recipients and aid batches live in their own module; importing it here registers
# their tables on Base (migrations and the models-vs-migrations test see one metadata).
from host_gateway.programs import models as _programs_models  # noqa: E402, F401

# Settlement keeps its tables in its own package; they are part of this metadata.
from host_gateway.settlement import models as _settlement_models  # noqa: E402, F401
