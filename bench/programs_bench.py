"""Recipients import and aid signing at city scale, next to floors measured in the same run.

    .venv/bin/python bench/programs_bench.py [--recipients 100000] [--no-postgres]

Import: validate and import a portal CSV of N recipients (parse, NIK/KK checks, keyed hashes,
AES-GCM sealing, household rule, one transaction); its floor is a bare bulk insert of the same
final rows into the same empty tables (rolled back), right before. Aid: prepare and approve the
loads of N cards (one signed LoadAuthorization each, stored, posted); its floor is bare signing
of the same N authorizations. Goals: import <= 10 s, prepare + sign <= 20 s. Prints JSON and
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_bench import drop_database, postgres_url

from host_gateway.db import (
    bulk_insert,
    make_engine,
    migrate,
    session_factory,
    transaction,
)
from host_gateway.fastsql import Raw
from host_gateway.models import Card, CardProgram
from host_gateway.pki import IssuerKeys, create_issuer_keys
from host_gateway.programs import aid, identity, recipients, terms
from host_gateway.programs.identity import Identities
from host_gateway.programs.models import Recipient, RecipientProgram
from ledger.cardnumber import luhn_check_digit
from ledger.cardproofs import LoadAuthorization
from tests.factories import T0

PLACES = [(kel, kec) for kec, kels in sorted(identity.samarinda().items()) for kel in sorted(kels)]


def portal_csv(count: int) -> bytes:
    lines = ["nik,kk,name,address,kelurahan,kecamatan,religion,programs"]
    for i in range(count):
        nik = f"6472{i % 10 + 1:02d}{(i // 9999) % 28 + 1:02d}0385{i % 9999 + 1:04d}"
        kel, kec = PLACES[i % len(PLACES)]
        lines.append(f"{nik},6472{i:012d},Warga {i},Jl. Pramuka {i},{kel},{kec},Islam,APBD")
    return ("\n".join(lines) + "\n").encode()


def seconds(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def run(url: str, count: int) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        keys = create_issuer_keys(session, b"bench", T0)
        terms.define(
            session, terms.TermsInput("APBD", "APBD Sembako", "APBD", ["beras"], 200_000), T0
        )
    ids = Identities(keys.nik_key)
    data = portal_csv(count)
    with transaction(factory) as session:  # the rows as the import stores them, ready made
        rows = recipients.validate(session, ids, data).new
    floor_rows = [
        {
            "id": n, "nik_hash": r.nik_hash, "nik_sealed": ids.seal_nik(r.nik, r.nik_hash),
            "kk_hash": r.kk_hash, "name": r.name, "address": r.address,
            "kelurahan": r.kelurahan, "kecamatan": r.kecamatan, "status": "active",
            "card_number": None, "created": T0,
        }
        for n, r in enumerate(rows, start=1)
    ]  # fmt: skip
    with factory() as session, session.begin():
        start = time.perf_counter()
        bulk_insert(session, Recipient, floor_rows)
        bulk_insert(
            session,
            RecipientProgram,
            [{"recipient_id": r["id"], "program_code": "APBD"} for r in floor_rows],
        )
        floor_insert = seconds(start)
        session.rollback()
    start = time.perf_counter()
    with transaction(factory) as session:
        report = recipients.import_rows(session, ids, data, T0)
    imported = seconds(start)
    assert len(report.new) == count and not report.bad
    give_cards(factory, count)
    floor_sign = bare_signing(keys, count)
    start = time.perf_counter()
    with transaction(factory) as session:
        batch = aid.prepare(session, "APBD", "2026-11", "Ani", T0).batch.id
    prepared = seconds(start)
    start = time.perf_counter()
    with transaction(factory) as session:
        signed = aid.approve(session, keys, batch, "Budi", T0)
    approved = seconds(start)
    assert signed == count
    engine.dispose()
    return {
        "import_s": imported,
        "import_floor_bare_insert_s": floor_insert,
        "import_ratio_to_floor": round(imported / floor_insert, 2),
        "import_goal_met": imported <= 10,
        "prepare_s": prepared,
        "approve_sign_s": approved,
        "aid_s": round(prepared + approved, 3),
        "aid_floor_bare_signing_s": floor_sign,
        "aid_ratio_to_floor": round((prepared + approved) / floor_sign, 2),
        "aid_goal_met": prepared + approved <= 20,
    }


def give_cards(factory: Any, count: int) -> None:
    """N active cards (unsigned certificates: the bench signs loads, not cards), one each."""
    numbers = [p + luhn_check_digit(p) for p in (f"606001{n:09d}" for n in range(1, count + 1))]
    with transaction(factory) as session:
        bulk_insert(
            session,
            Card,
            [
                {
                    "number": number, "holder_name": "Warga", "public_key": os.urandom(32),
                    "certificate": b"-", "valid_until": _date(session, dt.date(2031, 1, 1)),
                    "status": "active", "nik_sealed": None, "created": T0,
                }
                for number in numbers
            ],
        )  # fmt: skip
        bulk_insert(
            session, CardProgram, [{"card_number": n, "program_code": "APBD"} for n in numbers]
        )
        raw = Raw(session)
        if raw.postgres:
            raw.execute(
                "UPDATE recipients SET card_number = c.n FROM unnest(?::text[], ?::int[])"
                " AS c(n, id) WHERE recipients.id = c.id",
                [numbers, list(range(1, count + 1))],
            )
        else:
            raw.executemany(
                "UPDATE recipients SET card_number = ? WHERE id = ?",
                zip(numbers, range(1, count + 1), strict=True),
            )


def _date(session: Any, day: dt.date) -> Any:
    return day if session.get_bind().dialect.name == "postgresql" else day.isoformat()


def bare_signing(keys: IssuerKeys, count: int) -> float:
    start = time.perf_counter()
    for n in range(1, count + 1):
        partial = f"606001{n:09d}"
        LoadAuthorization(
            card_number=partial + luhn_check_digit(partial),
            load_seq=1,
            purse_code="APBD",
            amount=200_000,
            expiry=dt.date(2027, 1, 31),
            issued=dt.date(2026, 11, 18),
            issuer_key_id=keys.authority.key_id,
        ).signed_by(keys.authority).encode()
    return seconds(start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "benchmark": "recipients import and aid signing",
        "recipients": args.recipients,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
        },
    }
    with tempfile.TemporaryDirectory() as directory:
        results["sqlite"] = run(f"sqlite:///{directory}/bench.db", args.recipients)
    if not args.no_postgres:
        url, name = postgres_url()
        try:
            results["postgresql"] = run(url, args.recipients)
        finally:
            drop_database(name)
    results["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
