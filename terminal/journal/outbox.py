"""The outbox, sync state and current documents.

The outbox is not a table: it is every record without a row in ``acks``, so a record leaves it
only when the host acknowledged it, and nothing is ever deleted. ``ack_floor`` (every record up
to it is acknowledged) is kept in the same transactions so that finding the next records to
upload does not rescan months of acknowledged ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Connection

from ledger.record import Record, RecordType
from terminal.journal.base import JournalBase
from terminal.journal.models import (
    Acknowledgement,
    IntentStatus,
    JournalCounts,
    JournalError,
    OfflineState,
    Outgoing,
    StaleDocumentError,
    StoredDocument,
)
from terminal.journal.schema import acks, documents, intents, print_jobs, records, state
from terminal.receipts.jobs import JobStatus

_NOT_ACKED = ~exists().where(acks.c.seq == records.c.seq)
_ADVANCE_ACK_FLOOR = """
INSERT INTO state (name, value)
SELECT 'ack_floor', coalesce(
    (SELECT min(seq) FROM records
     WHERE seq > coalesce((SELECT value FROM state WHERE name = 'ack_floor'), 0)
       AND NOT EXISTS (SELECT 1 FROM acks WHERE acks.seq = records.seq)),
    coalesce((SELECT max(seq) FROM records), 0) + 1) - 1
ON CONFLICT (name) DO UPDATE SET value = excluded.value
"""
"""Every record up to ack_floor is acknowledged: the seq before the first unacknowledged one."""
_OFFLINE_STATE = """
SELECT (SELECT value FROM state WHERE name = 'last_sync_time'),
       synced.seq,
       count(CASE WHEN records.type = ? THEN 1 END),
       coalesce(sum(CASE WHEN records.type = ? THEN records.card_total END), 0),
       max(records.time)
FROM (SELECT coalesce((SELECT value FROM state WHERE name = 'synced_through_seq'), 0) AS seq)
     AS synced
LEFT JOIN records ON records.seq > synced.seq
"""


class OutboxMixin(JournalBase):
    def unacknowledged(self, limit: int = 100) -> list[Record]:
        """Records the host has not acknowledged, in sequence order, decoded (for inspection;
        the sync client uploads :meth:`outgoing`)."""
        return [Record.decode(item.encoded) for item in self.outgoing(limit)]

    def outgoing(self, limit: int, after_seq: int = 0) -> list[Outgoing]:
        """The next records to upload: unacknowledged, above ``after_seq``, in sequence order.
        Not decoded: a sync uploads thousands, and decoding cost the terminal more than the
        upload itself."""
        with self._reading() as conn:
            floor = max(after_seq, get_state(conn, "ack_floor"))
            rows = conn.execute(
                select(records.c.id, records.c.seq, records.c.encoded)
                .where(records.c.seq > floor, _NOT_ACKED)
                .order_by(records.c.seq)
                .limit(limit)
            ).all()
        return [Outgoing(uuid.UUID(bytes=row.id), row.seq, row.encoded) for row in rows]

    def acknowledge(
        self, record_ids: Sequence[uuid.UUID], host_outcomes: Sequence[str], *, time: int
    ) -> int:
        """Take records out of the outbox with the host's outcome for each.

        Returns how many were newly acknowledged; acknowledging again keeps the first outcome.
        An id this journal does not hold is an error: the host answered for a record we never
        sent, and nothing is recorded.
        """
        if len(record_ids) != len(host_outcomes):
            raise JournalError("one host outcome per record id")
        # Set-based on the driver: a sync acknowledges a thousand records at a time, and three
        # SQLAlchemy statements per record cost the terminal more than the upload itself.
        with self._writing_direct("acknowledge") as driver:
            seqs: dict[bytes, int] = {}
            ids = [record_id.bytes for record_id in record_ids]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                query = f"SELECT id, seq FROM records WHERE id IN ({marks})"
                seqs.update(driver.execute(query, chunk).fetchall())
            for record_id in record_ids:
                if record_id.bytes not in seqs:
                    raise JournalError(f"host acknowledged unknown record {record_id}")
            held: set[int] = set()
            wanted = sorted(set(seqs.values()))
            for start in range(0, len(wanted), 500):
                some = wanted[start : start + 500]
                marks = ", ".join("?" for _ in some)
                query = f"SELECT seq FROM acks WHERE seq IN ({marks})"
                held.update(seq for (seq,) in driver.execute(query, some))
            rows = []
            for raw_id, outcome in zip(ids, host_outcomes, strict=True):
                seq = seqs[raw_id]
                if seq not in held:
                    held.add(seq)
                    rows.append((seq, outcome, time))
            driver.executemany("INSERT INTO acks (seq, outcome, time) VALUES (?, ?, ?)", rows)
            driver.execute(_ADVANCE_ACK_FLOOR)
            self._fault("acknowledge:before-commit")
        return len(rows)

    def acknowledgement(self, record_id: uuid.UUID) -> Acknowledgement | None:
        query = select(acks).join(records, records.c.seq == acks.c.seq)
        with self._reading() as conn:
            row = conn.execute(query.where(records.c.id == record_id.bytes)).first()
        return None if row is None else Acknowledgement(row.seq, row.outcome, row.time)

    def counts(self) -> JournalCounts:
        with self._reading() as conn:
            floor = get_state(conn, "ack_floor")
            total = conn.execute(select(func.count()).select_from(records)).scalar_one()
            above = conn.execute(
                select(func.count()).select_from(records).where(records.c.seq > floor)
            ).scalar_one()
            acked_above = conn.execute(
                select(func.count()).select_from(acks).where(acks.c.seq > floor)
            ).scalar_one()
            unfinished = (IntentStatus.OPEN.value, IntentStatus.UNRESOLVED.value)
            by_status: dict[str, int] = {
                status: count
                for status, count in conn.execute(
                    select(intents.c.status, func.count())
                    .where(intents.c.status.in_(unfinished))
                    .group_by(intents.c.status)
                )
            }
            pending = conn.execute(
                select(func.count())
                .select_from(print_jobs)
                .where(print_jobs.c.status != JobStatus.PRINTED.value)
            ).scalar_one()
        return JournalCounts(
            records=total,
            outbox=above - acked_above,
            open_intents=by_status.get(IntentStatus.OPEN.value, 0),
            unresolved_intents=by_status.get(IntentStatus.UNRESOLVED.value, 0),
            pending_print_jobs=pending,
        )

    def mark_synced(self, time: int) -> None:
        """A sync succeeded at ``time``: what the host acknowledged so far is no longer offline."""
        with self._writing("mark synced") as conn:
            set_state(conn, "last_sync_time", time)
            set_state(conn, "synced_through_seq", get_state(conn, "ack_floor"))

    def offline_state(self) -> OfflineState:
        """Last sync, then the card debits and latest record time since, from the records
        themselves (one statement: one snapshot, and cheap enough to ask before every sale)."""
        with self._reading_direct() as driver:
            sale = RecordType.SALE.value
            row = driver.execute(_OFFLINE_STATE, (sale, sale)).fetchone()
        last_sync, synced, count, total, last_time = row
        return OfflineState(last_sync, synced, count, total, last_time)

    def put_document(self, name: str, version: int, data: bytes, *, time: int) -> None:
        """Keep the newest version of a signed document (catalog, hotlist, config).

        The caller verifies the signature first; the journal refuses going back in version.
        """
        with self._writing("store document") as conn:
            current = conn.execute(
                select(documents.c.version).where(documents.c.name == name)
            ).scalar()
            values = {"version": version, "data": bytes(data), "stored": time}
            if current is None:
                conn.execute(documents.insert(), {"name": name, **values})
            elif version <= current:
                raise StaleDocumentError(f"{name} version {version} is not newer than {current}")
            else:
                conn.execute(documents.update().where(documents.c.name == name).values(values))

    def document_versions(self) -> dict[str, int]:
        """The version held of each document: one cheap query to see whether a cache is stale."""
        with self._reading_direct() as driver:
            rows = driver.execute("SELECT name, version FROM documents").fetchall()
        return dict(rows)

    def document(self, name: str) -> StoredDocument | None:
        with self._reading() as conn:
            row = conn.execute(select(documents).where(documents.c.name == name)).first()
        return None if row is None else StoredDocument(row.name, row.version, row.data, row.stored)


def get_state(conn: Connection, name: str) -> int:
    value = conn.execute(select(state.c.value).where(state.c.name == name)).scalar()
    return 0 if value is None else int(value)


def set_state(conn: Connection, name: str, value: int) -> None:
    updated = conn.execute(state.update().where(state.c.name == name).values(value=value))
    if updated.rowcount == 0:
        conn.execute(state.insert(), {"name": name, "value": value})
