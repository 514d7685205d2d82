"""The journal keeps the money's history: chained, signed, append-only, durable across reopen."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from ledger.bodies import SaleBody
from ledger.crypto import SigningKey
from ledger.record import GENESIS_HASH, Record, RecordType
from ledger.verify import business_date, verify_chain
from terminal.journal import (
    IntentStateError,
    IntentStatus,
    Journal,
    JournalError,
    RecordRefusedError,
)
from terminal.receipts.jobs import JobKind, JobStatus
from tests.factories import RICE_5KG, T0
from tests.fixtures.journal import OIL_1L, JournalKit, complete, day_close


def test_completed_sale_is_signed_chained_and_has_its_receipts(
    journal: Journal, journal_kit: JournalKit
) -> None:
    pending = journal_kit.sale()
    record = complete(journal, pending)

    assert (record.seq, record.prev_hash, record.type) == (1, GENESIS_HASH, RecordType.SALE)
    assert record.verify_signature(journal_kit.key.public_key)
    assert journal.record(record.id) == record
    intent = journal.intent(pending.intent.id)
    assert intent is not None
    assert (intent.status, intent.record_seq) == (IntentStatus.COMPLETED, 1)
    jobs = journal.jobs_for_record(record.id)
    assert [job.kind for job in jobs] == [JobKind.SALE_CUSTOMER, JobKind.SALE_SHOP]
    assert all(job.status == JobStatus.PENDING for job in jobs)
    assert [r.id for r in journal.unacknowledged()] == [record.id]
    report = verify_chain(journal.records(), journal_kit.key.public_key, journal_kit.issuer.anchors)
    assert report.ok and report.checked == 1


def test_sequence_and_chain_continue_across_reopen(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    with journal_kit.open(journal_path) as journal:
        first = [complete(journal, journal_kit.sale()) for _ in range(3)]
    with journal_kit.open(journal_path) as journal:
        later = [complete(journal, journal_kit.sale()) for _ in range(2)]
        stored = journal.records()
    assert [r.seq for r in stored] == [1, 2, 3, 4, 5]
    assert stored == first + later
    assert later[0].prev_hash == first[-1].hash()
    report = verify_chain(stored, journal_kit.key.public_key, journal_kit.issuer.anchors)
    assert report.ok and report.checked == 5


def test_database_refuses_to_rewrite_history(journal: Journal, journal_kit: JournalKit) -> None:
    record = complete(journal, journal_kit.sale())
    journal.acknowledge([record.id], ["accepted"], time=T0)
    raw = sqlite3.connect(journal.path)
    refused = [
        "UPDATE records SET encoded = x'00' WHERE seq = 1",
        "UPDATE records SET card_total = 0",
        "DELETE FROM records",
        "UPDATE acks SET outcome = 'rejected'",
        "DELETE FROM acks",
        "UPDATE intents SET status = 'aborted'",
        "DELETE FROM intents",
        "UPDATE print_jobs SET data = x'00'",
        "DELETE FROM print_jobs",
        "UPDATE terminal SET terminal_id = 'SMD-0002'",
        "UPDATE state SET value = 0 WHERE name = 'ack_floor'",
        # a record that does not extend the chain
        "INSERT INTO records SELECT seq + 5, randomblob(16), type, time, business_date,"
        " card_total, hash, hash, encoded FROM records",
        "INSERT INTO records SELECT seq + 1, randomblob(16), type, time, business_date,"
        " card_total, prev_hash, hash, encoded FROM records",
    ]
    for statement in refused:
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute(statement)
    raw.close()
    assert journal.records() == [record]
    assert journal.counts().outbox == 0


def test_outbox_survives_reopen_and_only_acknowledged_records_leave(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    with journal_kit.open(journal_path) as journal:
        records = [complete(journal, journal_kit.sale()) for _ in range(5)]
        assert (
            journal.acknowledge([records[1].id, records[3].id], ["accepted", "accepted"], time=T0)
            == 2
        )
    with journal_kit.open(journal_path) as journal:
        assert [r.seq for r in journal.unacknowledged()] == [1, 3, 5]
        assert journal.counts().outbox == 3
        assert [r.seq for r in journal.unacknowledged(limit=2)] == [1, 3]
        # What the sync client uploads: the same records, as the exact bytes stored.
        outgoing = journal.outgoing(limit=2)
        assert [(r.id, r.seq, r.encoded) for r in outgoing] == [
            (records[0].id, 1, records[0].encode()),
            (records[2].id, 3, records[2].encode()),
        ]
        assert [r.seq for r in journal.outgoing(limit=2, after_seq=3)] == [5]
        assert journal.outgoing(limit=2, after_seq=5) == []
        # An id the journal does not hold: refused, and nothing of the batch is recorded.
        stranger = journal_kit.sale()
        with pytest.raises(JournalError, match="unknown record"):
            journal.acknowledge([records[0].id, stranger.intent.id], ["ok", "ok"], time=T0)
        assert journal.counts().outbox == 3
        # Acknowledging again keeps the first outcome.
        assert journal.acknowledge([records[1].id, records[0].id], ["dup", "ok"], time=T0) == 1
        acknowledgement = journal.acknowledgement(records[1].id)
        assert acknowledgement is not None and acknowledgement.outcome == "accepted"
        assert [r.seq for r in journal.unacknowledged()] == [3, 5]
    with journal_kit.open(journal_path) as journal:
        journal.acknowledge([records[2].id, records[4].id], ["ok", "rejected"], time=T0)
        assert journal.unacknowledged() == []
        assert journal.counts().outbox == 0
        assert len(journal.records()) == 5


def test_intents_survive_reopen_and_finish_exactly_once(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    walked, refused, later = journal_kit.sale(1), journal_kit.sale(2), journal_kit.sale(3)
    with journal_kit.open(journal_path) as journal:
        for pending in (walked, refused, later):
            journal.begin_intent(pending.intent)
        journal.mark_unresolved(walked.intent.id, "kartu dicabut sebelum menjawab")
    with journal_kit.open(journal_path) as journal:
        unfinished = {i.id: i for i in journal.open_intents()}
        assert set(unfinished) == {walked.intent.id, refused.intent.id, later.intent.id}
        assert unfinished[walked.intent.id].status == IntentStatus.UNRESOLVED
        assert unfinished[refused.intent.id] == refused.intent
        # The walked-away card comes back: its proof completes the unresolved intent.
        record = journal.complete_intent(
            walked.intent.id, RecordType.SALE, walked.body, T0, print_jobs=()
        )
        journal.abort_intent(refused.intent.id, "kartu menolak: saldo kurang")
        for finished in (walked, refused):
            with pytest.raises(IntentStateError, match="already"):
                journal.abort_intent(finished.intent.id, "again")
            with pytest.raises(IntentStateError, match="already"):
                journal.complete_intent(finished.intent.id, RecordType.SALE, finished.body, T0)
        assert [i.id for i in journal.open_intents()] == [later.intent.id]
        done = journal.intent(walked.intent.id)
        assert done is not None and done.record_seq == record.seq
        assert done.reason == "kartu dicabut sebelum menjawab"
        assert journal.records() == [record]


def test_a_card_with_an_unfinished_intent_gets_no_second_one(
    journal: Journal, journal_kit: JournalKit
) -> None:
    kit = journal_kit
    first, second = kit.sale(1), kit.sale(1)
    journal.begin_intent(first.intent)
    journal.mark_unresolved(first.intent.id, "card walked away")
    with pytest.raises(IntentStateError, match="unfinished intent"):
        journal.begin_intent(second.intent)
    assert journal.intent(second.intent.id) is None
    journal.abort_intent(first.intent.id, "card shows the debit never ran")
    journal.begin_intent(second.intent)
    with pytest.raises(IntentStateError, match="already exists"):
        journal.begin_intent(dataclasses.replace(second.intent, card_number=kit.card(2).number))


@pytest.mark.parametrize(
    "point", ["complete:record-inserted", "complete:jobs-inserted", "complete:intent-closed"]
)
def test_record_receipts_and_intent_commit_together_or_not_at_all(
    journal_kit: JournalKit, journal_path: Path, point: str
) -> None:
    class InjectedError(Exception):
        pass

    def fail_at(reached: str) -> None:
        if reached == point:
            raise InjectedError(point)

    pending = journal_kit.sale()
    with journal_kit.open(journal_path, fault_hook=fail_at) as journal:
        journal.begin_intent(pending.intent)
        with pytest.raises(InjectedError):
            journal.complete_intent(
                pending.intent.id,
                RecordType.SALE,
                pending.body,
                T0,
                [(JobKind.SALE_CUSTOMER, b"receipt")],
            )
        assert journal.records() == []
        assert journal.pending_jobs() == []
        assert journal.counts().outbox == 0
        assert [i.status for i in journal.open_intents()] == [IntentStatus.OPEN]
    with journal_kit.open(journal_path) as journal:
        record = journal.complete_intent(
            pending.intent.id, RecordType.SALE, pending.body, T0, [(JobKind.SALE_CUSTOMER, b"r")]
        )
        assert record.seq == 1
        assert [job.record_id for job in journal.pending_jobs()] == [record.id]


def test_a_record_that_is_not_the_cards_answer_is_refused(
    journal: Journal, journal_kit: JournalKit
) -> None:
    pending = journal_kit.sale()
    other = journal_kit.sale(2)
    journal.begin_intent(pending.intent)
    body = SaleBody.from_value(pending.body)
    wrong_bodies = {
        "another card": other.body,
        "malformed": {**pending.body, "cash": -1},
        "lines differ": dataclasses.replace(
            body, lines=(dataclasses.replace(RICE_5KG, name="Beras Premium 5 kg"),)
        ).to_value(),
    }
    for why, wrong in wrong_bodies.items():
        with pytest.raises(RecordRefusedError):
            journal.complete_intent(pending.intent.id, RecordType.SALE, wrong, T0)
        assert journal.records() == [], why
    with pytest.raises(RecordRefusedError, match="completes with a sale record"):
        journal.complete_intent(pending.intent.id, RecordType.LOAD, pending.body, T0)
    # A proof for another nonce or counter is another transaction than the one intended.
    replay = journal_kit.sale()
    with pytest.raises(RecordRefusedError, match="nonce"):
        journal.complete_intent(pending.intent.id, RecordType.SALE, replay.body, T0)
    with pytest.raises(RecordRefusedError, match="needs a write-ahead intent"):
        journal.append_record(RecordType.SALE, pending.body, T0)
    assert journal.records() == []
    assert journal.complete_intent(pending.intent.id, RecordType.SALE, pending.body, T0).seq == 1


def test_day_summary_totals_what_the_cards_signed(
    journal: Journal, journal_kit: JournalKit
) -> None:
    day = business_date(T0)
    sale = complete(journal, journal_kit.sale(1))
    complete(journal, journal_kit.sale(2, lines=(RICE_5KG, OIL_1L)))
    complete(journal, journal_kit.void(sale, T0 + 60))
    complete(journal, journal_kit.load(3, load_seq=1, amount=150_000))
    complete(journal, journal_kit.sale(1, time=T0 + 86_400))  # the next business day

    summary = journal.business_day_summary(day)
    assert (summary.first_seq, summary.last_seq) == (1, 4)
    assert (summary.sale_count, summary.card_total, summary.cash_total) == (2, 160_000, 11_400)
    assert (summary.void_count, summary.void_total) == (1, 70_000)
    assert (summary.load_count, summary.load_total) == (1, 150_000)
    assert summary.purse_totals == {"APBD": 70_000, "BZNS": 20_000}

    close = day_close(journal, day, T0 + 3600)
    assert close.seq == 6
    assert journal.business_day_summary(day) == summary  # day closes are not counted
    report = verify_chain(journal.records(), journal_kit.key.public_key, journal_kit.issuer.anchors)
    assert report.ok and report.checked == 6


def test_day_close_covers_every_record_since_the_last_close_by_seq(
    journal: Journal, journal_kit: JournalKit
) -> None:
    day = business_date(T0)
    sale = complete(journal, journal_kit.sale(1))
    first = journal.day_close_summary(day)
    assert (first.first_seq, first.last_seq, first.sale_count, first.card_total) == (
        1,
        1,
        1,
        70_000,
    )
    close = journal.append_record(RecordType.DAY_CLOSE, first.to_value(), T0 + 3600)
    assert journal.last_day_close() == close
    # After the close: a sale recovered then (its record keeps the time it began, before the
    # close) and a void of the first sale. Both are in the next close, not lost with the day.
    complete(journal, journal_kit.sale(2, time=T0 - 60))
    complete(journal, journal_kit.void(sale, T0 + 7200))
    second = journal.day_close_summary(day)
    assert (second.business_date, second.first_seq, second.last_seq) == (day, 3, 4)
    assert (second.sale_count, second.card_total, second.void_count, second.void_total) == (
        1,
        70_000,
        1,
        70_000,
    )
    journal.append_record(RecordType.DAY_CLOSE, second.to_value(), T0 + 7300)
    empty = journal.day_close_summary(day)
    assert (empty.first_seq, empty.last_seq, empty.sale_count) == (0, 0, 0)


def test_offline_state_knows_the_latest_record_time_since_the_sync(
    journal: Journal, journal_kit: JournalKit
) -> None:
    assert journal.offline_state().last_record_time_since_sync is None
    early = complete(journal, journal_kit.sale(1, time=T0 + 500))  # clock ran ahead
    journal.acknowledge([early.id], ["ok"], time=T0 + 10)
    journal.mark_synced(T0 + 10)  # host time: the early record no longer counts
    assert journal.offline_state().last_record_time_since_sync is None
    complete(journal, journal_kit.sale(1, time=T0 + 900))
    complete(journal, journal_kit.sale(1, time=T0 + 300))  # recovered: the time it began
    state = journal.offline_state()
    assert (state.last_record_time_since_sync, state.sales_since_sync) == (T0 + 900, 2)


def test_offline_amount_is_summed_from_records_since_the_last_sync(
    journal: Journal, journal_kit: JournalKit
) -> None:
    state = journal.offline_state()
    assert (state.last_sync_time, state.sales_since_sync, state.card_total_since_sync) == (
        None,
        0,
        0,
    )
    first = [complete(journal, journal_kit.sale()) for _ in range(3)]
    complete(journal, journal_kit.load(1, load_seq=1, amount=50_000))
    assert journal.offline_state().card_total_since_sync == 210_000
    journal.acknowledge([r.id for r in first], ["ok"] * 3, time=T0 + 10)
    journal.mark_synced(T0 + 10)
    complete(journal, journal_kit.sale(2, lines=(OIL_1L,)))
    state = journal.offline_state()
    assert (state.last_sync_time, state.synced_through_seq) == (T0 + 10, 3)
    assert (state.sales_since_sync, state.card_total_since_sync) == (1, 20_000)


def test_documents_only_move_forward(journal: Journal) -> None:
    assert journal.document("catalog") is None
    journal.put_document("catalog", 1, b"v1", time=T0)
    journal.put_document("catalog", 3, b"v3", time=T0 + 1)
    for stale in (3, 2):
        with pytest.raises(JournalError, match="not newer"):
            journal.put_document("catalog", stale, b"old", time=T0 + 2)
    stored = journal.document("catalog")
    assert stored is not None and (stored.version, stored.data) == (3, b"v3")


def test_print_queue_bookkeeping(journal: Journal, journal_kit: JournalKit) -> None:
    record = complete(journal, journal_kit.sale())
    customer, shop = journal.jobs_for_record(record.id)
    balance = journal.add_job(None, JobKind.BALANCE, b"saldo")
    journal.mark_failed(customer.job_id, "kertas habis")
    journal.mark_printed(shop.job_id)
    journal.mark_printed(shop.job_id)
    pending = journal.pending_jobs()
    assert [job.job_id for job in pending] == [customer.job_id, balance]
    assert (pending[0].status, pending[0].attempts, pending[0].last_error) == (
        JobStatus.FAILED,
        1,
        "kertas habis",
    )
    assert pending[0].data == customer.data
    with pytest.raises(JournalError, match="already printed"):
        journal.mark_failed(shop.job_id, "late")
    with pytest.raises(JournalError, match="no print job"):
        journal.mark_printed(9999)
    with pytest.raises(JournalError, match="no record"):
        journal.add_job(journal_kit.sale().intent.id, JobKind.REPRINT, b"x")
    assert journal.counts().pending_print_jobs == 2


def test_the_sent_mark_is_written_ahead_once_and_never_undone(
    journal: Journal, journal_kit: JournalKit
) -> None:
    record = complete(journal, journal_kit.sale())
    customer, shop = journal.jobs_for_record(record.id)
    assert not customer.sent and customer.record_seq == record.seq
    assert customer.record_time == record.time

    journal.mark_sent(customer.job_id, T0 + 5)
    journal.mark_failed(customer.job_id, "disconnected: reset")
    journal.mark_sent(customer.job_id, T0 + 60)  # a retry: the first mark stays

    again = journal.job(customer.job_id)
    assert again is not None and again.first_sent == T0 + 5 and again.sent
    assert journal.pending_jobs()[0].first_sent == T0 + 5
    journal.mark_printed(shop.job_id)
    with pytest.raises(JournalError, match="already printed"):
        journal.mark_sent(shop.job_id, T0 + 70)
    assert journal.job(9999) is None
    raw = sqlite3.connect(journal.path)
    for statement in (
        f"UPDATE print_jobs SET first_sent = NULL WHERE job_id = {customer.job_id}",
        f"UPDATE print_jobs SET first_sent = 1 WHERE job_id = {customer.job_id}",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="sent mark"):
            raw.execute(statement)
    raw.close()


def test_journal_belongs_to_one_terminal_and_key(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    with pytest.raises(JournalError, match="does not exist"):
        journal_kit.open(journal_path, create=False)
    journal_kit.open(journal_path).close()
    with pytest.raises(JournalError, match="another terminal key"):
        Journal.open(journal_path, SigningKey.generate(), journal_kit.terminal_id)
    with pytest.raises(JournalError, match="belongs to terminal SMD-0001"):
        Journal.open(journal_path, journal_kit.key, "SMD-0002")
    with pytest.raises(JournalError, match="terminal id"):
        Journal.open(journal_path, journal_kit.key, "bad id")


def test_closed_journal_refuses_work(journal: Journal, journal_kit: JournalKit) -> None:
    journal.close()
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.begin_intent(journal_kit.sale().intent)


def test_a_full_disk_fails_the_commit_and_changes_nothing(
    journal: Journal, journal_kit: JournalKit
) -> None:
    complete(journal, journal_kit.sale(1))
    pending = journal_kit.sale(2)
    journal.begin_intent(pending.intent)
    before = (journal.records(), journal.pending_jobs(), journal.counts())
    raw = journal._driver()
    pages = raw.execute("PRAGMA page_count").fetchone()[0]
    raw.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: no page can be added
    free = (
        raw.execute("PRAGMA freelist_count").fetchone()[0]
        * raw.execute("PRAGMA page_size").fetchone()[0]
    )  # pages a migration freed can still be used: ask for more than those
    receipts = [(JobKind.SALE_CUSTOMER, bytes(free + 8000))]
    with pytest.raises(JournalError, match="full"):
        journal.complete_intent(pending.intent.id, RecordType.SALE, pending.body, T0, receipts)
    assert (journal.records(), journal.pending_jobs(), journal.counts()) == before
    unfinished = journal.intent(pending.intent.id)
    assert unfinished is not None and unfinished.status == IntentStatus.OPEN
    raw.execute("PRAGMA max_page_count = 1073741823")
    record = journal.complete_intent(pending.intent.id, RecordType.SALE, pending.body, T0, receipts)
    assert record.seq == 2 and record.prev_hash == before[0][0].hash()


def test_receipts_composed_from_the_signed_record_commit_with_it(
    journal: Journal, journal_kit: JournalKit
) -> None:
    pending = journal_kit.sale()
    journal.begin_intent(pending.intent)

    def compose_failing(record: Record) -> list[tuple[JobKind, bytes]]:
        raise RuntimeError("printer template broken")

    with pytest.raises(RuntimeError):
        journal.complete_intent(
            pending.intent.id, RecordType.SALE, pending.body, T0, compose_failing
        )
    assert journal.records() == [] and journal.pending_jobs() == []

    def compose(record: Record) -> list[tuple[JobKind, bytes]]:
        return [(JobKind.SALE_CUSTOMER, b"QR:" + record.hash())]

    record = journal.complete_intent(pending.intent.id, RecordType.SALE, pending.body, T0, compose)
    (job,) = journal.jobs_for_record(record.id)
    assert job.data == b"QR:" + record.hash()
