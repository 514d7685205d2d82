"""Ingest throughput with full verification, next to the reference measured in the same run.

    .venv/bin/python bench/ingest_bench.py [--records 24000] [--no-postgres] [--catch-up N]

Reference: the naive verifier, both signatures (terminal, card) of every record checked on all
cores and nothing else, measured right before and right after each ingest run (the ratio is to
their mean, so load from other work on the machine weighs on both sides). Ingest: the gateway's
ingest service (decode, every rule, per-card counters, double-entry postings, one transaction
per batch) on SQLite and PostgreSQL, with several terminals uploading at once (each to its own
share of the cards), run by 1, 2 and 4 gateway processes on the one database (each run
continues the chains where the one before stopped). Duplicate replay: the same batches
again. CPU split: one core's microseconds per record for the reference's two signatures and
for ingest's verification. Terminal catch-up: the real sync client over real HTTP to a real
gateway process. Prints JSON with the load average, so a loaded machine shows; asserts nothing
about time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from host_gateway import cards, distribution, enrollment, loads, shops
from host_gateway.db import make_engine, migrate, session_factory, transaction
from host_gateway.gateway import Gateway
from host_gateway.ingest import TerminalContext
from host_gateway.ingest.verification import TerminalKey, verify_items
from host_gateway.models import Terminal
from host_gateway.pki import create_issuer_keys, load_anchors
from ledger.bodies import SaleBody
from ledger.cardproofs import CardCertificate, DebitProof, LoadAuthorization
from ledger.crypto import Domain, SigningKey, verify
from ledger.record import Record
from ledger.request_auth import enrollment_proof
from ledger.verify import TrustAnchors
from tests.factories import RICE_5KG, T0, FakeCard, FakeTerminal
from tests.fixtures.gateway import load_record

PASSPHRASE = b"bench"
BATCH = 500
PROCESS_COUNTS = (1, 2, 4)
GOAL_RATIO = 0.8
"""Issue 20: full ingest at 0.8 of the naive reference's throughput or better."""
CATALOG: dict[str, Any] = {
    "categories": [{"code": 1, "name": "Beras", "base_unit": "g", "cap_per_month": None}],
    "items": [
        {
            "gtin": RICE_5KG.gtin,
            "name": RICE_5KG.name,
            "category": 1,
            "unit": "karung 5 kg",
            "unit_base_qty": 5000,
            "het": 70_000,
            "programs": ["APBD"],
        }
    ],
}


def _verify_pairs(chunk: list[tuple[bytes, bytes, bytes, bytes, bytes, bytes]]) -> int:
    ok = 0
    for tpk, tmsg, tsig, cpk, cmsg, csig in chunk:
        ok += verify(tpk, Domain.TERMINAL_RECORD, tmsg, tsig)
        ok += verify(cpk, Domain.CARD_TRANSACTION, cmsg, csig)
    return ok


def _signature_work(
    records: list[tuple[bytes, bytes]], terminal_keys: dict[str, bytes]
) -> list[tuple[bytes, bytes, bytes, bytes, bytes, bytes]]:
    work = []
    for _, data in records:
        record = Record.decode(data)
        body = SaleBody.from_value(record.body)
        proof = DebitProof.decode(body.card_proof)
        card_key = CardCertificate.decode(body.card_certificate).public_key
        work.append(
            (
                terminal_keys[record.terminal_id],
                record.signed_bytes(),
                record.signature,
                card_key,
                proof.body(),
                proof.signature,
            )
        )
    return work


def floor(records: list[tuple[bytes, bytes]], terminal_keys: dict[str, bytes]) -> float:
    """Records per second of the naive reference: both signatures of every record verified,
    nothing else, on all cores."""
    work = _signature_work(records, terminal_keys)
    workers = os.cpu_count() or 1
    size = -(-len(work) // (workers * 4))
    chunks = [work[i : i + size] for i in range(0, len(work), size)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_verify_pairs, chunks[:workers]))  # start the workers first
        start = time.perf_counter()
        verified = sum(pool.map(_verify_pairs, chunks))
        elapsed = time.perf_counter() - start
    assert verified == 2 * len(work)
    return len(work) / elapsed


class Dataset:
    """A prepared gateway database and signed sales from several terminals over many cards."""

    def __init__(self, url: str, count: int, terminals: int, card_count: int) -> None:
        self.url = url
        engine = make_engine(url)
        migrate(engine)
        factory = session_factory(engine)
        now = T0 - 600
        self.fakes: list[FakeTerminal] = []
        with transaction(factory) as session:
            keys = create_issuer_keys(session, PASSPHRASE, now)
            distribution.publish_config(session, keys, distribution.DEFAULT_CONFIG, now)
            distribution.publish_catalog(session, keys, CATALOG, now)
            shop = shops.add_shop(session, "Bench shop", "mitra", now)
            shops.add_program(session, "APBD", "APBD", now)
            for _ in range(terminals):
                key = SigningKey.generate()
                code = enrollment.create_code(session, shop.id, now)
                done = enrollment.enroll(
                    session, keys, code, key.public_key, enrollment_proof(key, code), now
                )
                self.fakes.append(FakeTerminal(terminal_id=done.terminal.id, key=key))
            self.cards = []
            authorizations = []
            for _ in range(card_count):
                card_key = SigningKey.generate()
                issued = cards.register_card(
                    session,
                    keys,
                    holder_name="Penerima",
                    programs=["APBD"],
                    public_key=card_key.public_key,
                    now=now,
                )
                certificate = CardCertificate.decode(issued.card.certificate)
                self.cards.append(FakeCard(certificate, card_key, {}))
                # Value enters a card only by a load the host issued: its balance continuity
                # is checked from the first counter on (the host sees every counter).
                load = loads.create_load(
                    session,
                    keys,
                    card_number=issued.card.number,
                    program="APBD",
                    amount=4_000_000_000,
                    expiry=dt.date(2027, 12, 31),
                    now=now,
                )
                authorizations.append(LoadAuthorization.decode(load.authorization))
            self.contexts = []
            for fake in self.fakes:
                row = session.get_one(Terminal, fake.terminal_id)
                self.contexts.append(
                    TerminalContext(
                        TerminalKey(row.id, row.public_key, row.issued, row.valid_until),
                        row.shop_id,
                    )
                )
        engine.dispose()
        self.loads = [
            (record.id.bytes, record.encode())
            for record in (
                load_record(self.fakes[0], card, authorization, T0)
                for card, authorization in zip(self.cards, authorizations, strict=True)
            )
        ]
        per_terminal = count // terminals
        own = card_count // terminals
        self.streams: list[list[tuple[bytes, bytes]]] = []
        for index, fake in enumerate(self.fakes):
            stream = []
            for n in range(per_terminal):
                # Each shop sells to its own share of the cards (a holder shops where the card
                # is registered), so two terminals' batches touch different cards.
                card = self.cards[index * own + n % own]
                record = fake.sell(card)
                stream.append((record.id.bytes, record.encode()))
            self.streams.append(stream)
        self.warmup = [self.streams[i].pop(0) for i in range(terminals)]

    @property
    def records(self) -> list[tuple[bytes, bytes]]:
        return [item for stream in self.streams for item in stream]

    @property
    def terminal_keys(self) -> dict[str, bytes]:
        return {f.terminal_id: f.key.public_key for f in self.fakes}


Stream = list[tuple[bytes, bytes]]


def _upload_all(
    ingest_batch: Any, contexts: list[TerminalContext], items: list[Stream]
) -> tuple[float, dict[str, int]]:
    """Every terminal uploads its stream in batches, all terminals at once (one thread each)."""
    tally: dict[str, int] = {}
    lock = threading.Lock()

    def upload(context: TerminalContext, stream: Stream) -> None:
        for start in range(0, len(stream), BATCH):
            report = ingest_batch(context, stream[start : start + BATCH])
            with lock:
                for result in report.results:
                    key = "duplicate" if result.duplicate else result.status
                    tally[key] = tally.get(key, 0) + 1

    threads = [
        threading.Thread(target=upload, args=(context, stream))
        for context, stream in zip(contexts, items, strict=True)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, tally


def _open_gateway(url: str, verifiers: int | None) -> Gateway:
    gateway = Gateway.open(
        url, PASSPHRASE, clock=lambda: T0 + 60, run_migrations=False, workers=verifiers
    )
    gateway.pool.start()
    return gateway


def warm_up(dataset: Dataset) -> None:
    """The cards' loads and one sale per terminal, untimed."""
    gateway = _open_gateway(dataset.url, 1)
    try:
        for start in range(0, len(dataset.loads), BATCH):
            gateway.ingestor.ingest(dataset.contexts[0], dataset.loads[start : start + BATCH])
        for context, item in zip(dataset.contexts, dataset.warmup, strict=True):
            gateway.ingestor.ingest(context, [item])
    finally:
        gateway.close()


def ingest_one_process(dataset: Dataset, streams: list[Stream]) -> dict[str, Any]:
    """One gateway process; also times the serialized part (rules and database, under the
    ingest lock) and a duplicate replay of the same batches."""
    gateway = _open_gateway(dataset.url, None)
    decide_seconds = 0.0
    plain_decide = gateway.ingestor._decide_and_write

    def timed_decide(*args: Any) -> Any:
        nonlocal decide_seconds
        start = time.perf_counter()
        try:
            return plain_decide(*args)
        finally:
            decide_seconds += time.perf_counter() - start

    gateway.ingestor._decide_and_write = timed_decide  # type: ignore[method-assign]
    try:
        count = sum(len(s) for s in streams)
        elapsed, tally = _upload_all(gateway.ingestor.ingest, dataset.contexts, streams)
        assert tally.get("accepted") == count, tally
        replay_elapsed, replay = _upload_all(gateway.ingestor.ingest, dataset.contexts, streams)
        assert replay.get("duplicate") == count, replay
    finally:
        gateway.close()
    return {
        "records": count,
        "ingest_records_per_s": round(count / elapsed),
        "duplicate_replay_records_per_s": round(count / replay_elapsed),
        "rules_and_database_us_per_record": round(decide_seconds / count * 1e6, 1),
    }


def _process_share(
    url: str,
    verifiers: int,
    contexts: list[TerminalContext],
    streams: list[Stream],
    ready: Any,
    go: Any,
) -> dict[str, int]:
    """One gateway process of several (spawned): its share of the terminals."""
    gateway = _open_gateway(url, verifiers)
    try:
        ready.wait()
        go.wait()
        return _upload_all(gateway.ingestor.ingest, contexts, streams)[1]
    finally:
        gateway.close()


def ingest_processes(dataset: Dataset, streams: list[Stream], processes: int) -> dict[str, Any]:
    """``processes`` gateway processes on one database, the terminals shared out among them,
    each with cores / processes verifier processes (what `serve --workers` does)."""
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    ready, go = manager.Barrier(processes + 1), manager.Event()
    verifiers = max(1, (os.cpu_count() or 1) // processes)
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [
            pool.submit(
                _process_share,
                dataset.url,
                verifiers,
                dataset.contexts[p::processes],
                streams[p::processes],
                ready,
                go,
            )
            for p in range(processes)
        ]
        ready.wait()
        start = time.perf_counter()
        go.set()
        tallies = [future.result() for future in futures]
        elapsed = time.perf_counter() - start
    manager.shutdown()
    count = sum(len(s) for s in streams)
    accepted = sum(t.get("accepted", 0) for t in tallies)
    assert accepted == count, tallies
    return {"records": count, "ingest_records_per_s": round(count / elapsed)}


def _phases(streams: list[Stream], counts: tuple[int, ...]) -> list[list[Stream]]:
    """Each terminal's stream cut into one consecutive slice per run, so every run continues
    the chains (and the cards' counters) where the run before stopped."""
    size = min(len(s) for s in streams) // len(counts)
    return [[s[i * size : (i + 1) * size] for s in streams] for i in range(len(counts))]


def cpu_split(dataset: Dataset, sample: int = 2000) -> dict[str, float]:
    """Microseconds of one core per record, measured on a sample in this process: the two
    signatures of the naive reference, the card signature alone, and ingest's verification
    (decode, every check, the card signature, the terminal's once per run)."""
    terminal = dataset.contexts[0].key
    anchors = _anchors(dataset.url)
    records = dataset.streams[0][:sample]
    work = _signature_work(records, dataset.terminal_keys)
    start = time.perf_counter()
    _verify_pairs(work)
    both = (time.perf_counter() - start) / len(work)
    start = time.perf_counter()
    for *_, cpk, cmsg, csig in work:
        verify(cpk, Domain.CARD_TRANSACTION, cmsg, csig)
    card = (time.perf_counter() - start) / len(work)
    items = [(i, rid, data) for i, (rid, data) in enumerate(records)]
    start = time.perf_counter()
    facts = verify_items(terminal, anchors, items)
    verification = (time.perf_counter() - start) / len(items)
    assert all(f.ok for f in facts)
    return {
        "reference_two_signatures_us": round(both * 1e6, 1),
        "ingest_verification_us": round(verification * 1e6, 1),
        "of_which_card_signature_us": round(card * 1e6, 1),
        "of_which_decode_checks_and_run_signature_us": round((verification - card) * 1e6, 1),
    }


def _anchors(url: str) -> TrustAnchors:
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            return load_anchors(session)
    finally:
        engine.dispose()


def postgres_url() -> tuple[str, str]:
    """A fresh database on the local server (dropped afterwards)."""
    import psycopg

    name = f"ssn_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def catch_up(directory: str, queued: int) -> dict[str, Any]:
    """A terminal with ``queued`` records in its journal syncs once with a real gateway process
    (SQLite, real HTTP on localhost): seconds until the outbox is empty."""
    from terminal.cli import main as terminal_main
    from terminal.home import TerminalHome
    from terminal.sync import GatewayClient, Syncer
    from tests.fixtures.gateway import serve_world
    from tests.fixtures.journal import JournalKit, complete

    base = Path(directory) / "catch-up"
    base.mkdir()
    server, world = serve_world(
        f"sqlite:///{base / 'gateway.db'}", base, workers=os.cpu_count() or 1
    )
    try:
        os.environ.setdefault("SSN_TERMINAL_PASSPHRASE", "bench")
        home_dir = base / "terminal"
        code = world.enrollment_code()
        args = ["init", "--gateway", server.base_url, "--code", code, "--data-dir", str(home_dir)]
        with contextlib.redirect_stdout(io.StringIO()):
            enrolled = terminal_main([*args, "--json"])
        if enrolled != 0:
            raise SystemExit("terminal enrollment failed")
        card = world.funded_card(4_000_000_000)
        with TerminalHome.open(home_dir) as home:
            kit = JournalKit(key=home.key, terminal_id=home.config.terminal_id)
            kit.cards[1] = card
            now = int(time.time())
            for _ in range(queued):
                complete(home.journal, kit.sale(1, time=now))
            client = GatewayClient(server.base_url, home.config.terminal_id, home.key)
            syncer = Syncer(home.journal, client, dict(home.config.authority_keys), batch=1000)
            start = time.perf_counter()
            report = syncer.run_once()
            elapsed = time.perf_counter() - start
            client.close()
        if not report.ok or report.outbox != 0 or report.accepted != queued:
            raise SystemExit(f"catch-up did not finish: {report}")
    finally:
        server.stop()
        world.gateway.close()
    return {
        "queued_records": queued,
        "seconds": round(elapsed, 2),
        "records_per_s": round(queued / elapsed),
        "goal_seconds": 3,
        "goal_met": elapsed <= 3,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=24_000)
    parser.add_argument("--terminals", type=int, default=4)
    parser.add_argument("--cards", type=int, default=1_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--catch-up",
        type=int,
        default=10_000,
        metavar="N",
        help="records queued at a terminal for the catch-up run (0: skip)",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        "benchmark": "gateway ingest with full verification",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
        },
        "batch": BATCH,
        "terminals_uploading_at_once": args.terminals,
        "cards": args.cards,
    }
    with tempfile.TemporaryDirectory() as directory:
        databases = [("sqlite", f"sqlite:///{directory}/bench.db", None)]
        if not args.no_postgres:
            url, schema = postgres_url()
            databases.append(("postgresql", url, schema))
        floors: list[float] = []
        try:
            for name, url, _ in databases:
                dataset = Dataset(url, args.records, args.terminals, args.cards)
                warm_up(dataset)
                figures: dict[str, Any] = {"cpu_split_per_record": cpu_split(dataset)}
                phases = _phases(dataset.streams, PROCESS_COUNTS)
                for processes, streams in zip(PROCESS_COUNTS, phases, strict=True):
                    records = [item for stream in streams for item in stream]
                    # The reference right before and right after this ingest, so that load
                    # from other work on the machine weighs on both sides of the ratio alike.
                    before = floor(records, dataset.terminal_keys)
                    if processes == 1:
                        run = ingest_one_process(dataset, streams)
                        run["duplicate_ratio_to_ingest"] = round(
                            run["duplicate_replay_records_per_s"] / run["ingest_records_per_s"], 2
                        )
                    else:
                        run = ingest_processes(dataset, streams, processes)
                    after = floor(records, dataset.terminal_keys)
                    floors += [before, after]
                    reference = (before + after) / 2
                    run["reference_records_per_s"] = round(reference)
                    run["ratio_to_reference"] = round(run["ingest_records_per_s"] / reference, 3)
                    run["goal_met"] = run["ratio_to_reference"] >= GOAL_RATIO
                    figures[f"gateway_processes_{processes}"] = run
                results[name] = figures
        finally:
            for _, _, database in databases:
                if database:
                    drop_database(database)
        results["reference_records_per_s_mean"] = round(sum(floors) / len(floors))
        if args.catch_up:
            results["terminal_catch_up"] = catch_up(directory, args.catch_up)
    results["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
