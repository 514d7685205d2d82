"""The terminal's durable journal: write-ahead intents, the signed record chain, the outbox.

Every method that changes something is one SQLite transaction that is durable (fsynced) when the
method returns, or raises :class:`JournalError` and leaves the journal exactly as it was. Records
are never updated or deleted (the database refuses it with triggers); corrections are new
records. The outbox is every record without a host acknowledgement (see :mod:`.outbox`).

One process writes a journal; a lock makes one :class:`Journal` safe to share between threads
(the sale engine and the print queue). ``verify-ledger`` may read the same file concurrently.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from ledger import canonical
from ledger.binary import FormatError
from ledger.bodies import DayCloseBody
from ledger.cardnumber import is_valid_card_number
from ledger.cardproofs import NONCE_SIZE, check_terminal_id
from ledger.crypto import SigningKey, sha256
from ledger.ids import new_id
from ledger.record import GENESIS_HASH, Record, RecordType
from ledger.verify import business_date
from terminal.journal import checks, daysummary
from terminal.journal.audit import AuditMixin
from terminal.journal.db import begin_write, connect, fsync_directory, migrate
from terminal.journal.evidence import EvidenceMixin
from terminal.journal.models import (
    FaultHook,
    Intent,
    IntentKind,
    IntentStateError,
    IntentStatus,
    JournalError,
)
from terminal.journal.outbox import OutboxMixin
from terminal.journal.receipts import ReceiptsMixin
from terminal.journal.schema import intents, records, terminal
from terminal.receipts.jobs import JobKind

PrintJobs = Sequence[tuple[JobKind, bytes]] | Callable[[Record], Sequence[tuple[JobKind, bytes]]]
"""Receipt bytes to commit with a record, in printing order; or a function that composes them
from the freshly signed record (so the receipt's QR can carry the record's hash) inside the same
transaction."""

# The sale's path, straight to the driver (see JournalBase._writing_direct).
_INSERT_INTENT = (
    "INSERT INTO intents (id, kind, card_number, expected_counter, nonce, request, draft,"
    " created, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')"
)
_INTENT_FACTS = (
    "SELECT kind, card_number, nonce, expected_counter, status FROM intents WHERE id = ?"
)
_LAST = "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1"
_INSERT_RECORD = (
    "INSERT INTO records (seq, id, type, time, business_date, card_total, prev_hash, hash,"
    " encoded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_JOB = "INSERT INTO print_jobs (record_id, kind, data) VALUES (?, ?, ?)"
_FINISH_INTENT = (
    "UPDATE intents SET status = ?, reason = COALESCE(?, reason), record_seq = ? WHERE id = ?"
)
_UNFINISHED = (IntentStatus.OPEN.value, IntentStatus.UNRESOLVED.value)
_INTENT_COLUMNS = (
    "id, kind, card_number, expected_counter, nonce, request, draft, created, status, reason,"
    " record_seq"
)
_OPEN_INTENTS = (
    f"SELECT {_INTENT_COLUMNS} FROM intents WHERE status IN ('open', 'unresolved')"
    " {card} ORDER BY created, id"
)

FAULT_POINTS = (
    "begin_intent:before-commit",
    "begin_intent:after-commit",
    "complete:record-inserted",
    "complete:jobs-inserted",
    "complete:intent-closed",
    "complete:after-commit",
    "append:record-inserted",
    "append:jobs-inserted",
    "append:after-commit",
    "acknowledge:before-commit",
)
"""Every step a fault hook is called at; tests kill the process at each."""


class Journal(OutboxMixin, ReceiptsMixin, EvidenceMixin, AuditMixin):
    """Open with :meth:`open`; see the module docstring for the guarantees."""

    @classmethod
    def open(
        cls,
        path: Path | str,
        key: SigningKey,
        terminal_id: str,
        *,
        create: bool = True,
        fault_hook: FaultHook | None = None,
    ) -> Journal:
        """Open (with ``create``, create if missing) the journal of this terminal and key.

        The schema is migrated to the newest revision first. A journal of another terminal id
        or key is refused: records signed by two keys could never verify as one chain.
        """
        path = Path(path)
        try:
            check_terminal_id(terminal_id)
        except FormatError as exc:
            raise JournalError(str(exc)) from exc
        existed = path.exists()
        if not existed:
            if not create:
                raise JournalError(f"journal {path} does not exist")
            path.parent.mkdir(parents=True, exist_ok=True)
        engine, connection = connect(path)
        try:
            migrate(connection)
            _bind_terminal(connection, terminal_id, key.public_key)
            if not existed:
                fsync_directory(path.parent)
        except BaseException as exc:
            connection.close()
            engine.dispose()
            if isinstance(exc, SQLAlchemyError | OSError):
                raise JournalError(f"cannot open journal {path}: {exc}") from exc
            raise
        return cls(path, engine, connection, key, terminal_id, fault_hook)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- write-ahead intents ---------------------------------------------------------------

    def begin_intent(self, intent: Intent) -> None:
        """Durably record the card command about to be sent; only then may it be sent.

        Refused while the same card has an unfinished (open or unresolved) intent: that one
        must be resolved with the card first, so a walked-away sale never becomes two debits.
        """
        if intent.status != IntentStatus.OPEN or intent.record_seq is not None:
            raise IntentStateError("a new intent is open and has no record")
        if not is_valid_card_number(intent.card_number):
            raise JournalError(f"not a valid card number: {intent.card_number!r}")
        if len(intent.nonce) != NONCE_SIZE:
            raise JournalError(f"the terminal nonce is {NONCE_SIZE} bytes")
        if intent.expected_counter < 0:
            raise JournalError("the expected card counter cannot be negative")
        try:
            draft = canonical.encode(dict(intent.draft))
        except FormatError as exc:
            raise JournalError(f"draft body is not canonical data: {exc}") from exc
        row = (
            intent.id.bytes,
            IntentKind(intent.kind).value,
            intent.card_number,
            intent.expected_counter,
            bytes(intent.nonce),
            bytes(intent.request),
            draft,
            intent.created,
        )
        with self._writing_direct("begin intent") as driver:
            try:
                driver.execute(_INSERT_INTENT, row)
            except sqlite3.IntegrityError as exc:
                raise _intent_conflict(driver, intent, exc) from exc
            self._fault("begin_intent:before-commit")
        self._fault("begin_intent:after-commit")

    def intent(self, intent_id: uuid.UUID) -> Intent | None:
        with self._reading_direct() as driver:
            row = driver.execute(
                f"SELECT {_INTENT_COLUMNS} FROM intents WHERE id = ?", (intent_id.bytes,)
            ).fetchone()
        return None if row is None else _intent(row)

    def relayed_loads(self, card_number: str) -> set[bytes]:
        """The load requests already relayed to this card and settled (applied or refused):
        a load is never offered to the card twice by the same terminal."""
        with self._reading_direct() as driver:
            rows = driver.execute(
                "SELECT request FROM intents WHERE card_number = ? AND kind = 'load'"
                " AND status IN ('completed', 'aborted')",
                (card_number,),
            ).fetchall()
        return {bytes(row[0]) for row in rows}

    def open_intents(self, card_number: str | None = None) -> list[Intent]:
        """Intents neither completed nor aborted (open or unresolved), oldest first; only
        those of ``card_number`` when given (every sale asks this, so it is one indexed query)."""
        with self._reading_direct() as driver:
            if card_number is None:
                rows = driver.execute(_OPEN_INTENTS.format(card="")).fetchall()
            else:
                query = _OPEN_INTENTS.format(card="AND card_number = ?")
                rows = driver.execute(query, (card_number,)).fetchall()
        return [_intent(row) for row in rows]

    def complete_intent(
        self,
        intent_id: uuid.UUID,
        record_type: RecordType,
        body: Mapping[str, Any],
        time: int,
        print_jobs: PrintJobs = (),
    ) -> Record:
        """In one transaction: sign and append the record, store its receipts, close the intent.

        The record gets the next sequence number and the previous record's hash and enters the
        outbox. It must be the card's answer to this intent: same card, nonce and counter
        (:class:`~terminal.journal.checks.RecordRefusedError` otherwise, and nothing changes).
        """
        with self._writing_direct("complete intent") as driver:
            facts = driver.execute(_INTENT_FACTS, (intent_id.bytes,)).fetchone()
            if facts is None:
                raise IntentStateError(f"no intent {intent_id}")
            kind, card_number, nonce, counter, status = facts
            if IntentStatus(status).finished:
                raise IntentStateError(f"intent {intent_id} is already {status}")
            expected = checks.Expected(intent_id, IntentKind(kind), card_number, nonce, counter)
            card_total = checks.check_completion(expected, record_type, body, self.terminal_id)
            record = self._append(
                driver, "complete", record_type, body, time, card_total, print_jobs
            )
            driver.execute(
                _FINISH_INTENT,
                (IntentStatus.COMPLETED.value, None, record.seq, intent_id.bytes),
            )
            self._fault("complete:intent-closed")
        self._fault("complete:after-commit")
        return record

    def abort_intent(self, intent_id: uuid.UUID, reason: str) -> None:
        """The card never applied the command (it refused, or its counter shows it never ran)."""
        self._finish(intent_id, IntentStatus.ABORTED, reason)

    def settle_at_host(self, intent_id: uuid.UUID, reason: str) -> None:
        """An operator settled at the host an intent no card log can settle any more (the
        card's log rolled past it): the host booked it from the card's balances, the terminal
        stops waiting for the card and frees it for new operations."""
        self._finish(intent_id, IntentStatus.SETTLED_AT_HOST, reason)

    def mark_unresolved(self, intent_id: uuid.UUID, reason: str) -> None:
        """The card left before answering: the intent stays unfinished until that card returns."""
        self._finish(intent_id, IntentStatus.UNRESOLVED, reason)

    def _finish(self, intent_id: uuid.UUID, status: IntentStatus, reason: str) -> None:
        if not reason:
            raise JournalError("say why, for the cashier and the operator")
        with self._writing(f"mark intent {status}") as conn:
            current = conn.execute(
                select(intents.c.status).where(intents.c.id == intent_id.bytes)
            ).scalar()
            if current is None:
                raise IntentStateError(f"no intent {intent_id}")
            if IntentStatus(current).finished:
                raise IntentStateError(f"intent {intent_id} is already {current}")
            conn.execute(
                intents.update()
                .where(intents.c.id == intent_id.bytes)
                .values(status=status.value, reason=reason)
            )

    # -- records ---------------------------------------------------------------------------

    def append_record(
        self,
        record_type: RecordType,
        body: Mapping[str, Any],
        time: int,
        print_jobs: PrintJobs = (),
    ) -> Record:
        """Append a record that moved no value on a card (the day close), with its receipts."""
        checks.check_plain(record_type, body)
        with self._writing_direct("append record") as driver:
            record = self._append(driver, "append", record_type, body, time, 0, print_jobs)
        self._fault("append:after-commit")
        return record

    def _append(
        self,
        driver: sqlite3.Connection,
        step: str,
        record_type: RecordType,
        body: Mapping[str, Any],
        time: int,
        card_total: int,
        jobs: PrintJobs,
    ) -> Record:
        last = driver.execute(_LAST).fetchone()
        seq, prev = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
        record = Record(
            type=record_type,
            id=new_id(),
            terminal_id=self.terminal_id,
            seq=seq,
            prev_hash=prev,
            time=time,
            body=dict(body),
        ).signed_by(self._key)
        encoded = record.encode()
        driver.execute(
            _INSERT_RECORD,
            (
                seq,
                record.id.bytes,
                record_type.value,
                time,
                business_date(time).isoformat(),
                card_total,
                prev,
                sha256(encoded),
                encoded,
            ),
        )
        self._fault(f"{step}:record-inserted")
        if callable(jobs):
            jobs = jobs(record)
        driver.executemany(
            _INSERT_JOB,
            [(record.id.bytes, JobKind(kind).value, bytes(data)) for kind, data in jobs],
        )
        self._fault(f"{step}:jobs-inserted")
        return record

    def records(self, from_seq: int = 1, to_seq: int | None = None) -> list[Record]:
        """Records with ``from_seq <= seq <= to_seq`` (to the end when ``to_seq`` is None)."""
        query = select(records.c.encoded).where(records.c.seq >= from_seq)
        if to_seq is not None:
            query = query.where(records.c.seq <= to_seq)
        with self._reading() as conn:
            rows = conn.execute(query.order_by(records.c.seq)).all()
        return [Record.decode(row.encoded) for row in rows]

    def iter_records(self, from_seq: int = 1, batch: int = 500) -> Iterator[Record]:
        """All records from ``from_seq`` in sequence order, read a batch at a time."""
        while True:
            chunk = self.records(from_seq, from_seq + batch - 1)
            yield from chunk
            if len(chunk) < batch:
                return
            from_seq += batch

    def record(self, record_id: uuid.UUID) -> Record | None:
        return self._one_record(records.c.id == record_id.bytes)

    def record_at(self, seq: int) -> Record | None:
        return self._one_record(records.c.seq == seq)

    def last_record(self) -> Record | None:
        return self._last_record(None)

    def _last_record(self, where: Any) -> Record | None:
        query = select(records.c.encoded).order_by(records.c.seq.desc()).limit(1)
        if where is not None:
            query = query.where(where)
        with self._reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else Record.decode(row.encoded)

    def _one_record(self, where: Any) -> Record | None:
        with self._reading() as conn:
            row = conn.execute(select(records.c.encoded).where(where)).first()
        return None if row is None else Record.decode(row.encoded)

    def last_day_close(self) -> Record | None:
        """The newest day close (found scanning back from the end: costs the records since it)."""
        return self._last_record(records.c.type == RecordType.DAY_CLOSE.value)

    def day_close_summary(self, day: dt.date) -> DayCloseBody:
        """What the next day close for ``day`` reports: every record after the last day close.

        By sequence, not by record time: a sale recovered after its day was closed (its record
        keeps the time it began) or made after a close goes into the next close, so every record
        is in exactly one Z report.
        """
        last_close = self.last_day_close()
        after = last_close.seq if last_close is not None else 0
        with self._reading() as conn:
            rows = conn.execute(
                select(records.c.encoded).where(records.c.seq > after).order_by(records.c.seq)
            ).all()
        return daysummary.summarize(day, [Record.decode(row.encoded) for row in rows])

    def business_day_summary(self, day: dt.date) -> DayCloseBody:
        """Totals of the records dated on one business day (WITA), as a day-close body.

        A calendar view only: the Z report is :meth:`day_close_summary`, which also covers a
        record dated on a day that was already closed."""
        query = (
            select(records.c.encoded)
            .where(
                records.c.business_date == day.isoformat(),
                records.c.type != RecordType.DAY_CLOSE.value,
            )
            .order_by(records.c.seq)
        )
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return daysummary.summarize(day, [Record.decode(row.encoded) for row in rows])


def _intent_conflict(
    driver: sqlite3.Connection, intent: Intent, exc: sqlite3.IntegrityError
) -> JournalError:
    busy = driver.execute(
        "SELECT id FROM intents WHERE card_number = ? AND status IN ('open', 'unresolved')",
        (intent.card_number,),
    ).fetchone()
    if busy is not None:
        return IntentStateError(
            f"card {intent.card_number} has unfinished intent {uuid.UUID(bytes=busy[0])}:"
            " resolve it with the card before starting another"
        )
    return IntentStateError(f"intent {intent.id} or its nonce already exists: {exc}")


def _bind_terminal(conn: Connection, terminal_id: str, public_key: bytes) -> None:
    with begin_write(conn):
        row = conn.execute(select(terminal)).first()
        if row is None:
            conn.execute(
                terminal.insert(), {"one": 1, "terminal_id": terminal_id, "public_key": public_key}
            )
            return
    if row.terminal_id != terminal_id:
        raise JournalError(f"this journal belongs to terminal {row.terminal_id}, not {terminal_id}")
    if row.public_key != public_key:
        raise JournalError("this journal was signed with another terminal key")


def _intent(row: tuple[Any, ...]) -> Intent:
    """An intent from a row of ``_INTENT_COLUMNS``."""
    id_, kind, card_number, counter, nonce, request, draft, created, status, reason, seq = row
    return Intent(
        id=uuid.UUID(bytes=id_),
        kind=IntentKind(kind),
        card_number=card_number,
        expected_counter=counter,
        nonce=nonce,
        request=request,
        draft=canonical.decode(draft),
        created=created,
        status=IntentStatus(status),
        reason=reason,
        record_seq=seq,
    )
