"""The journal's share of a sale, next to the floor measured in the same run.

    .venv/bin/python bench/journal_bench.py [--sales 1000] [--dir DIR]

Journal: ``begin_intent`` (write-ahead, one commit) then ``complete_intent`` (checks the card's
answer, signs and appends the record with two receipts, closes the intent, one commit): what
the sale engine waits for, card and printer excluded. Floor: two bare SQLite commits (WAL,
synchronous=FULL, one row each of the same size, plain sqlite3) and one Ed25519 signature of a
record-sized message. The two alternate sale by sale on the same disk, so a slow stretch of
fsyncs hits both. The card's proofs are made before timing. Prints JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.crypto import Domain
from terminal.journal import Journal
from terminal.receipts.jobs import JobKind
from tests.fixtures.journal import JournalKit, Pending

WARMUP = 50
RECEIPT = b"\x1b@" + b"Beras Medium 5 kg      1 x 70.000\n" * 12


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6, 1)

    return {"p50_us": at(0.50), "p90_us": at(0.90), "p99_us": at(0.99)}


class Floor:
    """Two commits and one signature, with nothing of the journal's work around them."""

    def __init__(self, path: Path, kit: JournalKit, record_size: int, intent_size: int) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = FULL"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        self.key = kit.key
        self.record, self.intent = os.urandom(record_size), os.urandom(intent_size)

    def commit(self, data: bytes) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO t (v) VALUES (?)", (data,))
        self.db.execute("COMMIT")

    def sale(self) -> tuple[float, float, float]:
        t0 = time.perf_counter()
        self.commit(self.intent)
        t1 = time.perf_counter()
        self.key.sign(Domain.TERMINAL_RECORD, self.record)
        t2 = time.perf_counter()
        self.commit(self.record)
        t3 = time.perf_counter()
        return t3 - t0, (t1 - t0 + t3 - t2) / 2, t2 - t1


def journal_sale(journal: Journal, pending: Pending) -> tuple[float, float, float]:
    jobs = [(JobKind.SALE_CUSTOMER, RECEIPT), (JobKind.SALE_SHOP, RECEIPT)]
    t0 = time.perf_counter()
    journal.begin_intent(pending.intent)
    t1 = time.perf_counter()
    journal.complete_intent(pending.intent.id, pending.record_type, pending.body, 0, jobs)
    t2 = time.perf_counter()
    return t2 - t0, t1 - t0, t2 - t1


def run(sales: int, directory: Path) -> dict[str, Any]:
    kit = JournalKit()
    # A card per sale, answered before timing: the card's work is not the journal's.
    pendings = [kit.sale(serial=1000 + n) for n in range(sales + WARMUP)]
    journal = kit.open(directory / "journal.sqlite")
    sample_record = len(str(pendings[0].body)) + 160
    floor = Floor(directory / "floor.sqlite", kit, sample_record, 600)
    journal_times: dict[str, list[float]] = {"total": [], "begin_intent": [], "complete": []}
    floor_times: dict[str, list[float]] = {"total": [], "commit": [], "sign": []}
    for n, pending in enumerate(pendings):
        total, begin, complete = journal_sale(journal, pending)
        floor_total, commit, sign = floor.sale()
        if n >= WARMUP:
            for name, value in zip(journal_times, (total, begin, complete), strict=True):
                journal_times[name].append(value)
            for name, value in zip(floor_times, (floor_total, commit, sign), strict=True):
                floor_times[name].append(value)
    counts = journal.counts()
    journal.close()
    result_journal = {name: percentiles(values) for name, values in journal_times.items()}
    result_floor = {name: percentiles(values) for name, values in floor_times.items()}
    ratio = {
        q: round(result_journal["total"][q] / result_floor["total"][q], 2)
        for q in ("p50_us", "p99_us")
    }
    return {
        "benchmark": "journal: begin_intent + complete_intent per sale",
        "sales": sales,
        "records": counts.records,
        "journal": result_journal,
        "floor": result_floor,
        "floor_is": "2 SQLite WAL synchronous=FULL commits + 1 Ed25519 signature",
        "ratio_to_floor": ratio,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go")
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        result = run(args.sales, Path(tempfile.mkdtemp(dir=args.dir)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args.sales, Path(tmp))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
