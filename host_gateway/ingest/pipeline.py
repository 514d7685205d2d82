"""Idempotent batch ingest: a result per record, every record verified, the journal posted.

Order of work, and why:

1. Ids already held are answered from storage without verifying anything (same bytes: the stored
   outcome again, ``duplicate``; other bytes: ``conflict``). A retried batch after "committed,
   response lost" therefore changes nothing and costs little.
2. New records are verified outside any lock, in worker processes (signatures are the cost).
3. Under the ingest lock, in one transaction, the stateful rules decide in sequence order and
   everything is written; a crash before commit leaves nothing, after commit everything.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from host_gateway import counters, day_sales, gaps, pin_unblocks, postings
from host_gateway.cards import BLOCK_CLONED, BLOCK_ORDER_DAYS, hotlist_card
from host_gateway.db import BUSY_TIMEOUT, bulk_insert, lock_ingest_keys, transaction
from host_gateway.distribution import CatalogCache, note_served
from host_gateway.events import EventRow, record_events
from host_gateway.fastsql import Raw
from host_gateway.ingest import catchup as ingest_catchup
from host_gateway.ingest.clock import OfflineHours
from host_gateway.ingest.rules import BatchRules
from host_gateway.ingest.verification import Facts, TerminalKey, verify_items
from host_gateway.models import (
    Card,
    CardTransaction,
    Load,
    PurseProof,
    RecordId,
    StoredRecord,
    Terminal,
)
from host_gateway.partitions import is_partitioned, record_ids
from host_gateway.pki import IssuerKeys
from ledger.crypto import sha256
from ledger.verify import TrustAnchors

MAX_BATCH = 1_000
INLINE_BELOW = 64
"""Batches smaller than this are verified in-process: shipping them costs more than it saves."""
GAP_REPORT_LIMIT = 20
WORKER_NICENESS = 10


@dataclass
class RecordResult:
    id: str
    seq: int | None
    status: str
    """accepted, rejected, conflict or deferred."""
    code: str
    message: str
    stored: bool
    """The host holds this record id with exactly these bytes: the terminal may mark it sent."""
    duplicate: bool = False


@dataclass
class IngestReport:
    terminal_id: str
    results: list[RecordResult]
    contiguous_seq: int
    last_seq: int
    gaps: list[tuple[int, int]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


class VerifierPool:
    """Worker processes for signature checks; started on first use, never at import."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_follow_parent,
                initargs=(os.getpid(),),
            )
        return self._executor

    def start(self) -> None:
        """Start the workers now (a server does this before taking requests), not on the first
        large batch: spawning and importing costs seconds."""
        if self.workers > 1:
            pool = self._pool()
            for future in [pool.submit(_warm) for _ in range(self.workers)]:
                future.result()

    def verify(
        self, terminal: TerminalKey, anchors: TrustAnchors, items: list[tuple[int, bytes, bytes]]
    ) -> list[Facts]:
        if self.workers <= 1 or len(items) < INLINE_BELOW:
            return verify_items(terminal, anchors, items)
        size = -(-len(items) // self.workers)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        futures = [self._pool().submit(verify_items, terminal, anchors, c) for c in chunks]
        return [facts for future in futures for facts in future.result()]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None


def _warm() -> None:
    """Runs in a worker: the imports are done by now; nothing else to prepare."""


def _follow_parent(parent: int) -> None:
    """Runs in each worker at start: exit when the gateway process is gone (a worker holds both
    ends of its task pipe, so after a kill -9 of the gateway it would otherwise wait forever),
    and yield the CPU to the gateway: its ingest transactions are serialized, so every moment
    one waits for a core stalls all uploads, while verification just fills the cores left."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="ssn-follow-parent", daemon=True).start()


class _WriterTurn:
    """On SQLite, this process's ingest batches take turns at the one write lock here, not in
    SQLite's busy handler: that one polls, sleeping up to 100 ms between tries, so a batch that
    waited behind another slept on while the lock stood free (cores idle, uploads stalled). A
    batch waiting here starts the moment the one before commits. Other processes and other
    writers still meet at BEGIN IMMEDIATE, as before; a batch that waited here as long as SQLite
    would have waits no longer and goes on to BEGIN IMMEDIATE (busy as before, or its turn).
    PostgreSQL's advisory locks wake waiters themselves: there it does nothing."""

    def __init__(self, serialize: bool, timeout: float) -> None:
        self._lock = threading.Lock() if serialize else None
        self._timeout = timeout

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        taken = self._lock is not None and self._lock.acquire(timeout=self._timeout)
        try:
            yield
        finally:
            if taken:
                assert self._lock is not None
                self._lock.release()


@dataclass(frozen=True)
class TerminalContext:
    key: TerminalKey
    shop_id: str


class Ingestor:
    def __init__(
        self,
        factory: sessionmaker[Session],
        keys: IssuerKeys,
        pool: VerifierPool,
        clock: Callable[[], int],
        catalogs: CatalogCache,
        block_order_days: int = BLOCK_ORDER_DAYS,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        self.factory, self.keys, self.pool = factory, keys, pool
        self.clock, self.catalogs = clock, catalogs
        self.block_order_days = block_order_days
        self.offline_hours = OfflineHours(keys.anchors.authority_keys)
        bind = factory.kw.get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writer = _WriterTurn(sqlite, busy_timeout)

    def ingest(self, terminal: TerminalContext, items: list[tuple[bytes, bytes]]) -> IngestReport:
        """``items`` are (record id bytes, encoded record) in the order the terminal sent them."""
        received = self.clock()
        results: list[RecordResult | None] = [None] * len(items)
        first_index: dict[bytes, int] = {}
        echoes: list[tuple[int, int]] = []
        for index, (rid, data) in enumerate(items):
            earlier = first_index.get(rid)
            if earlier is None:
                first_index[rid] = index
            elif items[earlier][1] == data:
                echoes.append((index, earlier))
            else:
                results[index] = _conflict(rid)
        terminal_id = terminal.key.terminal_id
        with self.factory() as session:
            held = _held(session, terminal_id, list(first_index))
        fresh = self._answer_held(first_index, items, held, results)
        facts = self.pool.verify(
            terminal.key, self.keys.anchors, [(i, items[i][0], items[i][1]) for i in fresh]
        )
        cards = {f.card_number for f in facts if f.card_number is not None}
        with self._writer.turn(), transaction(self.factory) as session:
            lock_ingest_keys(session, terminal_id, cards)
            report = self._decide_and_write(session, terminal, items, facts, results, received)
        for index, earlier in echoes:
            original = results[earlier]
            assert original is not None
            results[index] = RecordResult(**{**original.__dict__, "duplicate": True})
        report.results = [r for r in results if r is not None]
        return report

    def _answer_held(
        self,
        first_index: dict[bytes, int],
        items: list[tuple[bytes, bytes]],
        held: dict[bytes, Held],
        results: list[RecordResult | None],
    ) -> list[int]:
        fresh = []
        for rid, index in first_index.items():
            stored = held.get(rid)
            if stored is None:
                fresh.append(index)
            else:
                results[index] = _from_stored(stored, sha256(items[index][1]))
        return fresh

    def _decide_and_write(
        self,
        session: Session,
        terminal: TerminalContext,
        items: list[tuple[bytes, bytes]],
        facts: list[Facts],
        results: list[RecordResult | None],
        received: int,
    ) -> IngestReport:
        terminal_id = terminal.key.terminal_id
        # A concurrent upload of the same records may have committed while we verified.
        raced = _held(session, terminal_id, [f.record_id for f in facts])
        pending = []
        for f in facts:
            if f.record_id in raced:
                results[f.index] = _from_stored(raced[f.record_id], sha256(items[f.index][1]))
            else:
                pending.append(f)
        rules = BatchRules(
            session,
            terminal_id,
            terminal.shop_id,
            pending,
            lambda version: self.catalogs.get(session, version),
            self.offline_hours.window(session, received),
        )
        for f in sorted(pending, key=lambda f: (f.seq, f.index)):
            rules.decide(f, items[f.index][1])
            results[f.index] = _from_facts(f)
        writes = rules.writes
        duplicates = sum(1 for r in results if r is not None and r.duplicate)
        if duplicates:
            writes.events.append(
                EventRow("replayed_records", f"{duplicates} records already held", terminal_id)
            )
        writes.events.extend(
            EventRow("record_conflict", r.message, terminal_id, uuid.UUID(r.id).bytes)
            for r in results
            if r is not None and r.status == "conflict"
        )
        if is_partitioned(session.connection()):  # the keys first: they are the guarantee
            bulk_insert(session, RecordId, record_ids(writes.records))
        bulk_insert(session, StoredRecord, writes.records)
        bulk_insert(session, CardTransaction, writes.card_transactions)
        bulk_insert(session, PurseProof, writes.purse_proofs)
        postings.post(session, received, writes.entries)
        # After the accounts, in key order, like every batch: a shop's batches already wait for
        # each other on its account row, so these rows add no waiting and no deadlock.
        day_sales.add(session, received, terminal.shop_id, writes.sales, writes.voids, writes.sold)
        for load_id, record_id in writes.loads_applied:
            version = counters.next_value(session, counters.LOADS_VERSION)
            session.execute(
                update(Load)
                .where(Load.id == load_id)
                .values(applied_record=record_id, applied_at=received, version=version)
            )
        pin_unblocks.close(session, writes.unblocks_applied, received)
        # The loads version counter before the hotlist's: every batch takes the counters'
        # row locks in one order (batches of other terminals and cards run at once).
        served = {f.card_number for f in pending if f.card_number in rules.cards}
        note_served(session, terminal_id, sorted(n for n in served if n is not None))
        for number in writes.clones:
            if number not in rules.hotlisted and number in rules.cards:
                hotlist_card(
                    session,
                    self.keys,
                    number,
                    BLOCK_CLONED,
                    "same counter, two contents",
                    received,
                    valid_days=self.block_order_days,
                )
            writes.events.append(
                EventRow("card_hotlisted_clone", "cloned card hotlisted", terminal_id, None, number)
            )
        for number, status in writes.card_status.items():
            query = update(Card).where(Card.number == number)
            if status != "cloned":
                query = query.where(Card.status != "cloned")
            session.execute(query.values(status=status))
        writes.events.extend(ingest_catchup.apply(session, writes.catch_ups))
        record_events(session, received, writes.events)
        loaded = {f.card_number for f in pending if f.type == "load" and f.card_number}
        gaps.refresh(session, gaps.cards_to_refresh(session, writes.counted, loaded), received)
        return _advance_chain(session, terminal_id)


@dataclass(frozen=True)
class Held:
    """What answering a retry needs of a stored record (not its bytes)."""

    id: bytes
    seq: int
    content_hash: bytes
    status: str
    code: str
    message: str


def _held(session: Session, terminal_id: str, ids: list[bytes]) -> dict[bytes, Held]:
    """This terminal's records among ``ids``: another terminal's record under the same id is
    not this one (ids are per terminal, see StoredRecord)."""
    raw = Raw(session)
    held: dict[bytes, Held] = {}
    for start in range(0, len(ids), 1000):
        condition, params = raw.any_of("id", ids[start : start + 1000], "bytea")
        columns = "id, seq, content_hash, status, code, message"
        query = f"SELECT {columns} FROM records WHERE terminal_id = ? AND {condition}"
        for row in raw.rows(query, [terminal_id, *params]):
            held[bytes(row[0])] = Held(bytes(row[0]), row[1], bytes(row[2]), *row[3:])
    return held


def _conflict(rid: bytes) -> RecordResult:
    return RecordResult(
        id=str(uuid.UUID(bytes=rid)),
        seq=None,
        status="conflict",
        code="conflict",
        message="this record id is held with other content; nothing was changed",
        stored=False,
    )


def _from_stored(stored: Held, content_hash: bytes) -> RecordResult:
    if stored.content_hash != content_hash:
        return _conflict(stored.id)
    return RecordResult(
        id=str(uuid.UUID(bytes=stored.id)),
        seq=stored.seq,
        status=stored.status,
        code=stored.code,
        message=stored.message,
        stored=True,
        duplicate=True,
    )


def _from_facts(facts: Facts) -> RecordResult:
    if facts.ok:
        status = "accepted"
    elif facts.code == "deferred":
        status = "deferred"
    else:
        status = "rejected"
    stored = facts.ok or (facts.stored and status == "rejected")
    return RecordResult(
        id=_uuid_text(facts.record_id),
        seq=facts.seq or None,
        status=status,
        code=facts.code,
        message=facts.message,
        stored=stored,
    )


def _uuid_text(raw: bytes) -> str:
    """str(uuid.UUID(bytes=raw)) at a fifth of the cost (one per record answered)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _advance_chain(session: Session, terminal_id: str) -> IngestReport:
    terminal = session.get_one(Terminal, terminal_id)
    start = terminal.contiguous_seq
    raw = Raw(session)
    above = "FROM records WHERE terminal_id = ? AND in_chain AND seq > ?"
    count, highest = raw.rows(f"SELECT count(*), max(seq) {above}", (terminal_id, start))[0]
    gaps: list[tuple[int, int]] = []
    if not count:
        contiguous, last = start, start
    elif highest - start == count:
        contiguous = last = highest  # every seq up to the highest is held: no gaps
    else:
        rows = raw.rows(f"SELECT seq {above} ORDER BY seq LIMIT 100000", (terminal_id, start))
        seqs = [seq for (seq,) in rows]
        contiguous, gaps = _contiguous_and_gaps(start, seqs)
        last = max(seqs[-1], contiguous)
    if contiguous != start:
        terminal.contiguous_seq = contiguous
        terminal.last_hash = session.scalar(
            select(StoredRecord.content_hash).where(
                StoredRecord.terminal_id == terminal_id,
                StoredRecord.in_chain,
                StoredRecord.seq == contiguous,
            )
        )
    return IngestReport(terminal_id, [], contiguous, last, gaps)


def _contiguous_and_gaps(start: int, seqs: list[int]) -> tuple[int, list[tuple[int, int]]]:
    """Where the unbroken chain from ``start`` ends, and the first missing ranges after it."""
    contiguous = start
    for seq in seqs:
        if seq != contiguous + 1:
            break
        contiguous = seq
    gaps: list[tuple[int, int]] = []
    expected = contiguous + 1
    for seq in seqs:
        if seq > expected and len(gaps) < GAP_REPORT_LIMIT:
            gaps.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    return contiguous, gaps
