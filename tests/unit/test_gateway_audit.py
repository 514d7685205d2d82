"""``audit --full`` verifies every signature of a period again, record by record: ingest's
once-per-run terminal signature leaves each record's own signature checkable, and a stored
record altered afterwards is named."""

from __future__ import annotations

from sqlalchemy import update

from host_gateway.db import transaction
from host_gateway.models import StoredRecord
from host_gateway.signature_audit import AuditReport, audit_signatures
from tests.fixtures.gateway import World


def _audit(world: World) -> AuditReport:
    with transaction(world.gateway.factory) as session:
        return audit_signatures(session, world.now - 3_600, world.now + 3_600)


def test_every_signature_of_the_period_is_verified_again(world: World) -> None:
    card = world.funded_card()  # a load: terminal, card and issuer signatures
    report = world.ingest([world.terminal.sell(card) for _ in range(4)])
    assert report.count("accepted") == 4
    audit = _audit(world)
    assert audit.ok and (audit.records, audit.terminals) == (5, 1)
    # Per record its terminal signature and its card's, none skipped; the load also the issuer's.
    assert audit.signatures == 5 * 2 + 1


def test_a_stored_record_altered_afterwards_is_named(world: World) -> None:
    card = world.funded_card()
    sales = [world.terminal.sell(card) for _ in range(3)]
    world.ingest(sales)
    forged = bytearray(sales[1].encode())
    forged[-70] ^= 1  # a byte of the body: the terminal's signature no longer verifies
    with transaction(world.gateway.factory) as session:
        session.execute(
            update(StoredRecord)
            .where(StoredRecord.id == sales[1].id.bytes)
            .values(data=bytes(forged))
        )
    audit = _audit(world)
    assert not audit.ok
    assert [(f["seq"], f["code"]) for f in audit.failures] == [(3, "terminal_signature")]
