"""The host's memory that one ingest batch needs, fetched up front in a few queries.

Built inside the ingest transaction (under the ingest lock): the chain around the batch's
sequence numbers, the card counters it uses, the cards, programs and hotlist entries, the sales
its voids name and the loads its receipts close. :mod:`host_gateway.ingest.rules` decides on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.cards import hotlisted_since
from host_gateway.events import EventRow
from host_gateway.fastsql import Raw
from host_gateway.ingest.verification import Facts
from host_gateway.models import (
    HotlistFetch,
    Load,
    PinUnblock,
    StoredRecord,
)
from host_gateway.pin_unblocks import Applied


@dataclass
class Link:
    record_id: bytes
    hash: bytes
    prev_hash: bytes


@dataclass
class Writes:
    records: list[dict[str, object]] = field(default_factory=list)
    card_transactions: list[dict[str, object]] = field(default_factory=list)
    purse_proofs: list[dict[str, object]] = field(default_factory=list)
    entries: list[postings.Entry] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    loads_applied: list[tuple[int, bytes]] = field(default_factory=list)
    unblocks_applied: list[Applied] = field(default_factory=list)
    card_status: dict[str, str] = field(default_factory=dict)
    clones: list[str] = field(default_factory=list)
    catch_ups: list[CatchUp] = field(default_factory=list)
    counted: list[tuple[str, int]] = field(default_factory=list)
    """(card, counter) whose balances this batch adds: continuity is checked around them."""
    sales: int = 0
    voids: int = 0
    sold: dict[str, int] = field(default_factory=dict)
    """Per program, what accepted sales took less what accepted cancellations gave back: the
    day's figures (:mod:`host_gateway.day_sales`)."""


@dataclass(frozen=True)
class CatchUp:
    """A terminal's record of a card counter the host already held from the card's log or from
    an operator's settlement: the record takes the counter over, its money moves once."""

    card_number: str
    counter: int
    source: str
    """What held the counter: evidence or settled."""
    held_id: bytes
    """The evidence or stuck intent that held it."""
    record_id: bytes
    proof_hash: bytes
    kind: str


class BatchState:
    """What the host knows that a batch's records refer to, fetched in a few queries."""

    def __init__(self, session: Session, terminal_id: str, batch: list[Facts]) -> None:
        self.session, self.terminal_id = session, terminal_id
        signed = [f for f in batch if f.ok or f.stored]
        seqs = {s for f in signed for s in (f.seq - 1, f.seq, f.seq + 1)}
        seqs |= {f.original_seq for f in signed if f.type == "void"}
        raw = Raw(session)
        condition, params = raw.any_of("seq", sorted(seqs), "bigint")
        self.chain: dict[int, Link] = {
            seq: Link(bytes(rid), bytes(h), bytes(p))
            for seq, rid, h, p in raw.rows(
                "SELECT seq, id, content_hash, prev_hash FROM records"
                f" WHERE terminal_id = ? AND in_chain AND {condition}",
                [terminal_id, *params],
            )
        }
        cards = sorted({f.card_number for f in signed if f.card_number})
        pairs = [(f.card_number, f.card_counter) for f in signed if f.card_number]
        self.counters: dict[tuple[str, int], bytes] = {}
        self.held_elsewhere: dict[tuple[str, int], tuple[str, bytes]] = {}
        """Counters held from a card's log or an operator's settlement, not from a record."""
        if pairs:
            condition, params = raw.pair_in(("card_number", "counter"), pairs, ("text", "bigint"))
            rows = raw.rows(
                "SELECT card_number, counter, proof_hash, source, record_id"
                f" FROM card_transactions WHERE {condition}",
                params,
            )
            self.counters = {(c, n): bytes(h) for c, n, h, _, _ in rows}
            self.held_elsewhere = {
                (c, n): (source, bytes(rid)) for c, n, _, source, rid in rows if source != "record"
            }
        condition, params = raw.any_of("number", cards, "text")
        self.cards: dict[str, str] = {}
        self.card_keys: dict[str, bytes] = {}
        for number, status, key in raw.rows(
            f"SELECT number, status, public_key FROM cards WHERE {condition}", params
        ):
            self.cards[number], self.card_keys[number] = status, bytes(key)
        self._prefetch_block_counters(raw, signed)
        self.programs: dict[str, set[str]] = {}
        condition, params = raw.any_of("card_number", cards, "text")
        for number, code in raw.rows(
            f"SELECT card_number, program_code FROM card_programs WHERE {condition}", params
        ):
            self.programs.setdefault(number, set()).add(code)
        self.hotlisted = hotlisted_since(session, cards)
        self.fetches: list[tuple[int, int]] = []
        if self.hotlisted:
            self.fetches = [
                (v, s)
                for v, s in session.execute(
                    select(HotlistFetch.version, HotlistFetch.seq).where(
                        HotlistFetch.terminal_id == terminal_id
                    )
                )
            ]
        self._prefetch_voids(session, signed)
        self._prefetch_loads(session, signed)
        self._prefetch_unblocks(session, signed)

    def _prefetch_block_counters(self, raw: Raw, signed: list[Facts]) -> None:
        """The counter each blocked card of the batch's sales was blocked at (its lowest block
        receipt): a sale at or below it was signed before the block. Asked only for blocked
        cards, which are few (index ix_records_blocks)."""
        sold = {f.card_number for f in signed if f.type == "sale"}
        blocked = sorted(n for n in sold if n is not None and self.cards.get(n) == "blocked")
        self.block_counters: dict[str, int] = {}
        if blocked:
            condition, params = raw.any_of("card_number", blocked, "text")
            for number, counter in raw.rows(
                "SELECT card_number, MIN(card_counter) FROM records"
                f" WHERE type = 'block' AND status = 'accepted' AND {condition}"
                " GROUP BY card_number",
                params,
            ):
                self.block_counters[number] = int(counter)

    def _prefetch_voids(self, session: Session, signed: list[Facts]) -> None:
        originals = [f.original_id for f in signed if f.type == "void" and f.original_id]
        self.originals: dict[bytes, StoredRecord] = {}
        self.voided: set[bytes] = set()
        if originals:
            self.originals = {
                r.id: r
                for r in session.scalars(
                    select(StoredRecord).where(
                        StoredRecord.terminal_id == self.terminal_id,
                        StoredRecord.id.in_(originals),
                    )
                )
            }
            self.voided = set(
                session.scalars(
                    select(StoredRecord.voids_record).where(
                        StoredRecord.terminal_id == self.terminal_id,
                        StoredRecord.voids_record.in_(originals),
                        StoredRecord.status == "accepted",
                    )
                )
            )
        self.batch_sales: dict[bytes, Facts] = {}

    def _prefetch_loads(self, session: Session, signed: list[Facts]) -> None:
        wanted = [(f.card_number, f.load_seq) for f in signed if f.type == "load" and f.card_number]
        self.loads: dict[tuple[str, int], Load] = {}
        if wanted:
            self.loads = {
                (load.card_number, load.load_seq): load
                for load in session.scalars(
                    select(Load).where(tuple_(Load.card_number, Load.load_seq).in_(wanted))
                )
            }
        self.applied_in_batch: set[int] = set()

    def _prefetch_unblocks(self, session: Session, signed: list[Facts]) -> None:
        """The orders the batch's pin_unblock receipts name (rare: a few a day)."""
        wanted = [
            (f.card_number, f.unblock_seq)
            for f in signed
            if f.type == "pin_unblock" and f.card_number
        ]
        self.unblocks: dict[tuple[str, int], PinUnblock] = {}
        if wanted:
            self.unblocks = {
                (row.card_number, row.unblock_seq): row
                for row in session.scalars(
                    select(PinUnblock).where(
                        tuple_(PinUnblock.card_number, PinUnblock.unblock_seq).in_(wanted)
                    )
                )
            }
        self.unblocked_in_batch: dict[tuple[str, int], bytes] = {}
        """Orders a record of this batch closed, with the card's receipt."""
