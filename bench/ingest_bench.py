"""Ingest throughput with full verification, next to the floor measured in the same run.

    .venv/bin/python bench/ingest_bench.py [--records 20000] [--no-postgres] [--catch-up]

Floor: bare Ed25519 verification of the same records' two signatures (terminal, card) on all
cores, nothing else, measured right before and right after each ingest run (the ratio is to
their mean, so load from other work on the machine weighs on both sides). Ingest: the gateway's
ingest service (decode, every rule, per-card counters, double-entry postings, one transaction
per batch) on SQLite and PostgreSQL, with several terminals uploading at once so verification
(worker processes) and database writes overlap. Duplicate replay: the same batches again.
Terminal catch-up: the real sync client over real HTTP to a real gateway process. Prints JSON
with the load average, so a loaded machine shows; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
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
from host_gateway.ingest.verification import TerminalKey
from host_gateway.models import Terminal
from host_gateway.pki import create_issuer_keys
from ledger.bodies import SaleBody
from ledger.cardproofs import CardCertificate, DebitProof, LoadAuthorization
from ledger.crypto import Domain, SigningKey, verify
from ledger.record import Record
from ledger.request_auth import enrollment_proof
from tests.factories import RICE_5KG, T0, FakeCard, FakeTerminal
from tests.fixtures.gateway import load_record

PASSPHRASE = b"bench"
BATCH = 500
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


def floor(records: list[tuple[bytes, bytes]], terminal_keys: dict[str, bytes]) -> float:
    """Records per second of bare signature verification on all cores."""
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
        self.streams: list[list[tuple[bytes, bytes]]] = []
        for index, fake in enumerate(self.fakes):
            stream = []
            for n in range(per_terminal):
                card = self.cards[(index * per_terminal + n) % card_count]
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


def _run_streams(
    gateway: Gateway, dataset: Dataset, items: list[list[tuple[bytes, bytes]]]
) -> tuple[float, dict[str, int]]:
    tally: dict[str, int] = {}
    lock = threading.Lock()

    def upload(context: TerminalContext, stream: list[tuple[bytes, bytes]]) -> None:
        for start in range(0, len(stream), BATCH):
            report = gateway.ingestor.ingest(context, stream[start : start + BATCH])
            with lock:
                for result in report.results:
                    key = "duplicate" if result.duplicate else result.status
                    tally[key] = tally.get(key, 0) + 1

    threads = [
        threading.Thread(target=upload, args=(context, stream))
        for context, stream in zip(dataset.contexts, items, strict=True)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, tally


def ingest(dataset: Dataset) -> dict[str, Any]:
    clock = lambda: T0 + 60  # noqa: E731
    gateway = Gateway.open(dataset.url, PASSPHRASE, clock=clock, run_migrations=False)
    try:
        for start in range(0, len(dataset.loads), BATCH):  # the cards' loads, untimed
            gateway.ingestor.ingest(dataset.contexts[0], dataset.loads[start : start + BATCH])
        for context, item in zip(dataset.contexts, dataset.warmup, strict=True):
            gateway.ingestor.ingest(context, [item] * 1)
        gateway.pool.verify(
            dataset.contexts[0].key, gateway.keys.anchors, [(0, b"", b"")] * 200
        )  # start the verifier processes before timing
        count = sum(len(s) for s in dataset.streams)
        elapsed, tally = _run_streams(gateway, dataset, dataset.streams)
        assert tally.get("accepted") == count, tally
        replay_elapsed, replay = _run_streams(gateway, dataset, dataset.streams)
        assert replay.get("duplicate") == count, replay
    finally:
        gateway.close()
    return {
        "records": count,
        "ingest_records_per_s": round(count / elapsed),
        "duplicate_replay_records_per_s": round(count / replay_elapsed),
    }


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
    parser.add_argument("--records", type=int, default=20_000)
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
        floors = []
        try:
            for name, url, _ in databases:
                dataset = Dataset(url, args.records, args.terminals, args.cards)
                # The floor right before and right after this ingest, so that load from other
                # work on the machine weighs on both sides of the ratio alike.
                before = floor(dataset.records, dataset.terminal_keys)
                figures = ingest(dataset)
                after = floor(dataset.records, dataset.terminal_keys)
                floors += [before, after]
                floor_rps = (before + after) / 2
                figures["floor_records_per_s"] = round(floor_rps)
                figures["ratio_to_floor"] = round(figures["ingest_records_per_s"] / floor_rps, 3)
                figures["duplicate_ratio_to_ingest"] = round(
                    figures["duplicate_replay_records_per_s"] / figures["ingest_records_per_s"], 2
                )
                figures["goal_met"] = (
                    figures["ingest_records_per_s"] >= 5_000
                    and figures["ratio_to_floor"] >= 0.5
                    and figures["duplicate_ratio_to_ingest"] >= 2
                )
                results[name] = figures
        finally:
            for _, _, database in databases:
                if database:
                    drop_database(database)
        results["floor_signature_verify_records_per_s"] = round(sum(floors) / len(floors))
        if args.catch_up:
            results["terminal_catch_up"] = catch_up(directory, args.catch_up)
    results["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
