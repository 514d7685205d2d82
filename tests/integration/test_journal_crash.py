"""kill -9 at any instant: after reopen the chain verifies, nothing half-written is visible, and
every commit that returned to its caller is there.

A worker process sells, acknowledges and closes days on one journal, writing a line to a pipe
after each call returns (and one before each call starts). The test kills it with SIGKILL at
random instants, or the worker kills itself at one of the journal's named steps
(``FAULT_POINTS``), then reopens the journal and checks it against those lines. Rounds continue
on the same journal, so each round also recovers what the last one left open. The first rounds
are fresh interpreters (this module run with ``python -m``); the rest are forked from the test
process, which holds no database open when it forks, so hundreds of kills take seconds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ledger.crypto import SigningKey
from ledger.record import Record, RecordType
from ledger.verify import business_date, verify_chain
from terminal.journal import FAULT_POINTS, IntentStatus, Journal
from terminal.receipts.jobs import JobKind
from tests.factories import T0, Issuer
from tests.fixtures.journal import JournalKit

REPO = Path(__file__).resolve().parents[2]
FRESH_ROUNDS = 4
RANDOM_ROUNDS = 160
ROUNDS_PER_POINT = 5
MAX_OPS = 400
DAY = 86_400
DIED = -signal.SIGKILL


def fixed_kit() -> JournalKit:
    """Keys from fixed seeds, so the parent verifies what the worker signed."""
    issuer = Issuer(
        ca=SigningKey.from_seed(bytes([1]) * 32), authority=SigningKey.from_seed(bytes([2]) * 32)
    )
    return JournalKit(issuer=issuer, key=SigningKey.from_seed(bytes([4]) * 32))


# -- the worker ---------------------------------------------------------------------------


def work(path: Path, round_no: int, crash_point: str, crash_after: int, out: int) -> None:
    def emit(*fields: object) -> None:
        os.write(out, (" ".join(str(f) for f in fields) + "\n").encode())  # one write: whole

    kit = fixed_kit()
    hits = Counter[str]()

    def hook(point: str) -> None:
        hits[point] += 1
        if point == crash_point and hits[point] == crash_after:
            os.kill(os.getpid(), signal.SIGKILL)

    journal = kit.open(path, fault_hook=hook)
    # Recovery: the fake cards died with the last worker, so no unfinished command ever ran.
    for intent in journal.open_intents():
        journal.abort_intent(intent.id, "recovery: the card never answered")
        emit("X", intent.id)
    emit("READY")
    now = T0 + round_no * DAY
    for op in range(MAX_OPS):
        now += 1
        if op % 8 == 7:
            emit("d")
            body = journal.business_day_summary(business_date(now))
            record = journal.append_record(
                RecordType.DAY_CLOSE, body.to_value(), now, [(JobKind.DAY_CLOSE, b"Z")]
            )
            emit("C", record.seq, record.id, record.hash().hex())
        elif op % 5 == 4:
            batch = journal.unacknowledged(limit=3)
            if batch:
                emit("a", *(r.id for r in batch))
                journal.acknowledge([r.id for r in batch], ["accepted"] * len(batch), time=now)
                emit("A", *(r.id for r in batch))
        else:
            pending = kit.sale(round_no * 1000 + op, time=now)
            emit("i", pending.intent.id)
            journal.begin_intent(pending.intent)
            emit("I", pending.intent.id)
            if op % 11 == 10:
                journal.mark_unresolved(pending.intent.id, "card walked away")
                emit("U", pending.intent.id)
                continue
            jobs = [(JobKind.SALE_CUSTOMER, b"C" * 300), (JobKind.SALE_SHOP, b"S" * 300)]
            emit("c", pending.intent.id)
            record = journal.complete_intent(
                pending.intent.id, RecordType.SALE, pending.body, now, jobs
            )
            emit("C", record.seq, record.id, record.hash().hex())
    journal.close()


# -- the test -----------------------------------------------------------------------------


@dataclass
class Tally:
    rounds: int = 0
    random_kills: int = 0
    point_kills: Counter[str] = field(default_factory=Counter)
    returned_commits: int = 0
    """Commits whose call returned (and was reported) before the kill: all must be present."""
    in_flight_found: Counter[str] = field(default_factory=Counter)
    """What the one operation cut by the kill left behind, by outcome."""
    recovered_intents: int = 0


@dataclass
class Lines:
    """What the worker reported: ``X``/``I``/``U``/``A``/``C`` after a call returned, lowercase
    ``i``/``c``/``a``/``d`` before a call started."""

    done: list[list[str]]
    started: list[list[str]]

    @classmethod
    def parse(cls, output: str) -> Lines:
        complete = output.split("\n")[:-1]  # a line cut by the kill has no newline
        rows = [line.split() for line in complete if line]
        return cls([r for r in rows if r[0].isupper()], [r for r in rows if r[0].islower()])

    def of(self, tag: str) -> list[list[str]]:
        return [row[1:] for row in self.done if row[0] == tag]


def run_round(
    path: Path, round_no: int, crash_point: str, crash_after: int, delay: float | None
) -> str:
    """Run one worker until it dies; ``delay`` is when to kill it (seconds after it is ready,
    or after it starts when negative); None lets it kill itself at ``crash_point``."""
    if round_no <= FRESH_ROUNDS:
        args = [str(path), str(round_no), crash_point, str(crash_after)]
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.test_journal_crash", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
        )
        assert worker.stdout is not None
        return _kill_and_read(worker.pid, worker.stdout.fileno(), delay, worker.wait)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into pytest
        os.close(read_end)
        try:
            work(path, round_no, crash_point, crash_after, write_end)
        except BaseException:
            traceback.print_exc()
        os._exit(1)
    os.close(write_end)

    def reap() -> int:
        _, status = os.waitpid(pid, 0)
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    try:
        return _kill_and_read(pid, read_end, delay, reap)
    finally:
        os.close(read_end)


def _kill_and_read(pid: int, fd: int, delay: float | None, reap: Callable[[], int]) -> str:
    started = time.monotonic()
    output = b""
    if delay is not None:
        if delay >= 0:
            while b"READY\n" not in output and (chunk := os.read(fd, 65536)):
                output += chunk
        time.sleep(max(0.0, abs(delay) - (time.monotonic() - started) * (delay < 0)))
        os.kill(pid, signal.SIGKILL)
    while chunk := os.read(fd, 65536):
        output += chunk
    returncode = reap()
    assert returncode == DIED, f"worker was not killed: {returncode}"
    return output.decode()


def check_round(
    journal: Journal, kit: JournalKit, lines: Lines, verified: tuple[int, bytes], tally: Tally
) -> tuple[int, bytes]:
    """Check what one killed worker left; returns the new (last verified seq, its hash)."""
    seq, prev = verified
    new = journal.records(seq + 1)
    report = verify_chain(
        new, kit.key.public_key, kit.issuer.anchors, start_seq=seq + 1, start_prev=prev
    )
    assert report.ok, report.reason
    by_seq = {r.seq: r for r in new}
    # Every commit that returned is there, byte for byte.
    returned = lines.of("C")
    for seq_text, record_id, digest in returned:
        record = by_seq[int(seq_text)]
        assert (str(record.id), record.hash().hex()) == (record_id, digest)
    tally.returned_commits += len(returned)
    for (intent_id,) in lines.of("I"):
        assert journal.intent(uuid.UUID(intent_id)) is not None
    for row in lines.of("A"):
        for record_id in row:
            assert journal.acknowledgement(uuid.UUID(record_id)) is not None
    for (intent_id,) in lines.of("X"):
        intent = journal.intent(uuid.UUID(intent_id))
        assert intent is not None and intent.status == IntentStatus.ABORTED
    tally.recovered_intents += len(lines.of("X"))
    # Nothing half-written: at most the one operation in flight differs from what was reported.
    last_reported = max((int(row[0]) for row in returned), default=seq)
    extra = [r for r in new if r.seq > last_reported]
    assert len(extra) <= 1
    for record in new:
        kinds = [job.kind for job in journal.jobs_for_record(record.id)]
        expected = (
            [JobKind.DAY_CLOSE]
            if record.type == RecordType.DAY_CLOSE
            else [JobKind.SALE_CUSTOMER, JobKind.SALE_SHOP]
        )
        assert kinds == expected
    unfinished = journal.open_intents()
    assert sum(i.status == IntentStatus.OPEN for i in unfinished) <= 1
    for intent in unfinished:
        assert intent.record_seq is None
    tally.in_flight_found[_in_flight(journal, lines, extra)] += 1
    raw = journal._driver()
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    if new:
        return new[-1].seq, new[-1].hash()
    return verified


def _in_flight(journal: Journal, lines: Lines, extra: list[Record]) -> str:
    """Name what the kill cut, and check it happened entirely or not at all."""
    if not lines.started:
        return "killed before the first call"
    tag, *ids = lines.started[-1]
    if tag == "i":
        intent = journal.intent(uuid.UUID(ids[0]))
        assert extra == []
        if intent is None:
            assert ids not in lines.of("I")
            return "intent not committed"
        return "intent committed" if ids not in lines.of("I") else "intent reported"
    if tag == "c":
        intent = journal.intent(uuid.UUID(ids[0]))
        assert intent is not None
        if intent.status == IntentStatus.COMPLETED:
            if [str(intent.record_seq)] in [row[:1] for row in lines.of("C")]:
                return "sale reported"
            assert [r.seq for r in extra] == [intent.record_seq]
            return "sale committed, not reported"
        assert intent.status == IntentStatus.OPEN and extra == []
        return "sale not committed, intent open"
    if tag == "a":
        assert extra == []
        acknowledged = [journal.acknowledgement(uuid.UUID(i)) is not None for i in ids]
        assert all(acknowledged) or not any(acknowledged)
        return "acknowledgement committed" if all(acknowledged) else "acknowledgement not committed"
    assert tag == "d" and all(r.type == RecordType.DAY_CLOSE for r in extra)
    return "day close committed, not reported" if extra else "day close not committed or reported"


@pytest.mark.slow
def test_kill_9_at_random_instants_and_at_every_step(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    kit = fixed_kit()
    rng = random.Random(20261118)
    tally = Tally()
    # A quarter of the random kills count from the worker's start (opening, recovery), the rest
    # from when it is ready (selling).
    schedule: list[tuple[str, int, float | None]] = [
        ("", 1, rng.choice((-1, 1, 1, 1)) * rng.uniform(0.0, 0.03)) for _ in range(RANDOM_ROUNDS)
    ]
    for point in FAULT_POINTS:
        schedule += [(point, rng.randint(1, 4), None) for _ in range(ROUNDS_PER_POINT)]
    rng.shuffle(schedule)
    verified = (0, bytes(32))
    for round_no, (point, after, delay) in enumerate(schedule, start=1):
        lines = Lines.parse(run_round(path, round_no, point, after, delay))
        tally.rounds += 1
        if point:
            tally.point_kills[point] += 1
        else:
            tally.random_kills += 1
        with kit.open(path) as journal:
            verified = check_round(journal, kit, lines, verified, tally)
    with kit.open(path) as journal:
        audit = journal.audit(kit.issuer.anchors)
        counts = journal.counts()
    assert audit.ok, audit.to_json()
    assert audit.records == verified[0] == counts.records
    print(f"\ncrash rounds: {tally}\nrecords: {audit.by_type}, outbox {counts.outbox}")
    assert set(tally.point_kills) == set(FAULT_POINTS)


if __name__ == "__main__":
    work(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.stdout.fileno())
    sys.exit(1)  # not killed: the test fails
