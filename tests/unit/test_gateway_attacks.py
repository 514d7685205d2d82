"""Attacks on ingest, each refused with a clear reason and counted where the operator looks.

Runs on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import pytest
from sqlalchemy import func, select

from host_gateway import events, postings
from host_gateway.api.app import _updates
from host_gateway.api.auth import SignedRequest, authenticate
from host_gateway.cards import hotlist_card
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.enrollment import revoke
from host_gateway.errors import GatewayError
from host_gateway.models import Account, Card, HotlistEntry, JournalLine
from ledger.binary import BinaryWriter, FormatError
from ledger.bodies import BlockBody, SaleBody, VoidBody
from ledger.cardnumber import card_number_to_bcd
from ledger.cardproofs import BlockOrder, DebitProof, Kind, PurseMovement
from ledger.crypto import Domain, SigningKey
from ledger.record import RecordType
from ledger.request_auth import sign_request
from tests.factories import RICE_5KG, T0, FakeCard, Issuer
from tests.fixtures.gateway import World, load_record


def counted(world: World) -> dict[str, int]:
    with transaction(world.gateway.factory) as session:
        return events.counts(session)


def shop_balance(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        code = postings.shop(world.shop_id)
        return int(session.scalar(select(Account.balance).where(Account.code == code)) or 0)


def test_forged_terminal_signature(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    forged = sale.signed_by(SigningKey.generate())
    result = world.ingest([forged]).results[0]
    assert (result.status, result.code, result.stored) == ("rejected", "terminal_signature", False)
    assert counted(world)["terminal_signature"] == 1
    assert world.ingest([sale]).results[0].status == "accepted"  # the genuine one still goes in


def test_altered_amount(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    body = SaleBody.from_value(sale.body)
    line = dataclasses.replace(
        body.lines[0], quantity=2, paid=(("APBD", 140_000),)
    )  # the card paid for one sack; the shop claims two
    altered = dataclasses.replace(sale, body=dataclasses.replace(body, lines=(line,)).to_value())
    result = world.ingest([altered.signed_by(world.terminal.key)]).results[0]
    assert (result.status, result.code) == ("rejected", "basket_mismatch")
    assert shop_balance(world) == 0
    with transaction(world.gateway.factory) as session:
        report = run_check(session)
    assert report.ok, report.discrepancies  # what the card did pay waits in suspense
    assert counted(world)["basket_mismatch"] == 1


def test_replayed_batch(world: World) -> None:
    card = world.funded_card()
    batch = [world.terminal.sell(card) for _ in range(4)]
    world.ingest(batch)
    with transaction(world.gateway.factory) as session:
        lines = session.scalar(select(func.count()).select_from(JournalLine))
    replay = world.ingest(batch)
    assert all(r.duplicate for r in replay.results)
    with transaction(world.gateway.factory) as session:
        assert session.scalar(select(func.count()).select_from(JournalLine)) == lines
    assert shop_balance(world) == -280_000
    assert counted(world)["replayed_records"] == 1


def test_record_from_revoked_terminal(world: World) -> None:
    with transaction(world.gateway.factory) as session:
        revoke(session, world.terminal.terminal_id, "stolen", T0)
    body = b'{"records": []}'
    headers = sign_request(
        world.terminal.key, world.terminal.terminal_id, "POST", "/v1/records", body, T0
    )
    with pytest.raises(GatewayError) as refused:
        authenticate(world.gateway, SignedRequest("POST", "/v1/records", body, headers))
    assert refused.value.status == 403 and refused.value.code == "terminal_revoked"
    assert "stolen" in refused.value.message  # its own key signed: it is told why
    assert world.gateway.refusals.counts() == {"terminal_revoked": 1}


def test_cloned_card_is_flagged_and_hotlisted(world: World) -> None:
    card = world.funded_card()
    clone = FakeCard(card.certificate, card.key, dict(card.balances), card.counter)
    genuine = world.terminal.sell(card)
    copy = world.terminal.sell(clone)  # same counter, other nonce: another history
    results = world.ingest([genuine, copy]).results
    assert results[0].status == "accepted"
    assert (results[1].status, results[1].code) == ("rejected", "card_cloned")
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "cloned"
        entry = session.scalars(
            select(HotlistEntry).where(HotlistEntry.card_number == card.number)
        ).one()
        assert entry.block_order is not None
        assert BlockOrder.decode(entry.block_order).verify(world.gateway.keys.authority.public_key)
    assert shop_balance(world) == -70_000
    assert counted(world)["card_cloned"] == 1


def test_clone_flag_survives_a_block_later_in_the_same_batch(world: World) -> None:
    """Two histories of one card stay flagged ``cloned`` when a block receipt follows in the
    batch: ``blocked`` would have the check compare purses that two copies moved."""
    card = world.funded_card()
    with transaction(world.gateway.factory) as session:
        entry = hotlist_card(session, world.gateway.keys, card.number, 1, "hilang", T0)
    assert entry.block_order is not None
    clone = FakeCard(card.certificate, card.key, dict(card.balances), card.counter)
    genuine, copy = world.terminal.sell(card), world.terminal.sell(clone)
    receipt = card.block(BlockOrder.decode(entry.block_order), world.terminal.terminal_id, T0)
    block = world.terminal.append(
        RecordType.BLOCK,
        BlockBody(
            card.number, card.certificate.encode(), entry.block_order, receipt.encode()
        ).to_value(),
    )
    results = world.ingest([genuine, copy, block]).results
    assert [r.code for r in results] == ["ok", "card_cloned", "ok"]
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "cloned"
        assert run_check(session).cloned_cards == [card.number]


def test_debit_proof_from_a_card_not_issued_by_us(world: World) -> None:
    foreign = Issuer().card()
    result = world.ingest([world.terminal.sell(foreign)]).results[0]
    assert (result.status, result.code) == ("rejected", "card_not_issued")
    assert shop_balance(world) == 0
    assert counted(world)["card_not_issued"] == 1


def test_second_card_certified_under_a_registered_number(world: World) -> None:
    """A card torn at issuance before numbers were spent first kept a CA-signed certificate for
    a number that later went to another card (or our CA key was misused). Its proofs are not
    that card's history: its sale moves none of that card's money and, though its counter
    repeats the real card's, does not get the real card flagged as cloned."""
    card = world.funded_card()
    key = SigningKey.generate()
    certificate = world.gateway.keys.card_certificate(
        card.number, key.public_key, card.certificate.valid_until
    )
    impostor = FakeCard(certificate, key, {"APBD": 1_000_000}, card.counter)
    results = world.ingest([world.terminal.sell(card), world.terminal.sell(impostor)]).results
    assert [(r.status, r.code) for r in results] == [
        ("accepted", "ok"),
        ("rejected", "card_key_mismatch"),
    ]
    assert "another key" in results[1].message
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "active"
        assert session.scalar(select(func.count()).select_from(HotlistEntry)) == 0
        report = run_check(session)
    assert report.ok, report.discrepancies
    assert shop_balance(world) == -70_000
    assert counted(world)["card_key_mismatch"] == 1


def test_load_replay(world: World) -> None:
    card = world.card()
    authorization = world.authorize(card, 150_000)
    clone = FakeCard(card.certificate, card.key, dict(card.balances), card.counter + 5)
    first = load_record(world.terminal, card, authorization)
    again = world.terminal.append(first.type, dict(first.body))  # same receipt, new record
    cloned = load_record(world.terminal, clone, authorization)  # a copy applies it once more
    results = world.ingest([first, again, cloned]).results
    assert [r.code for r in results] == ["ok", "card_proof_replayed", "load_replay"]
    with transaction(world.gateway.factory) as session:
        purse = postings.purse(card.number, "APBD")
        assert session.scalar(select(Account.balance).where(Account.code == purse)) == -150_000
        assert session.get_one(Card, card.number).status == "cloned"
    assert counted(world)["load_replay"] == 1


def test_hotlisted_card_after_the_terminal_had_the_hotlist(world: World) -> None:
    card = world.funded_card()
    before = world.terminal.sell(card)  # sold offline before the hotlist reached the shop
    with transaction(world.gateway.factory) as session:
        hotlist_card(session, world.gateway.keys, card.number, 1, "lost", T0)
    # The sync client uploads before it downloads: the host binds the hotlist from what it holds.
    assert world.ingest([before]).results[0].status == "accepted"
    position = world.terminal.seq
    updates = _updates(
        world.gateway,
        world.context(),
        {"catalog": 1, "config": 1, "hotlist": 0, "loads": 0},
        position,
    )
    assert updates.hotlist.version == 1 and updates.hotlist.document is not None
    after = world.terminal.sell(card)
    results = world.ingest([before, after]).results
    assert (results[0].status, results[0].duplicate) == ("accepted", True)
    assert (results[1].status, results[1].code) == ("rejected", "card_hotlisted")
    assert shop_balance(world) == -70_000
    assert counted(world)["card_hotlisted"] == 1


def test_copied_card_we_certified_but_never_registered_is_refused_not_crashed(
    world: World,
) -> None:
    key = SigningKey.generate()
    number = "6060019999999992"
    certificate = world.gateway.keys.card_certificate(number, key.public_key, dt.date(2031, 1, 1))
    card = FakeCard(certificate, key, {"APBD": 500_000})
    copy = FakeCard(certificate, key, dict(card.balances))
    results = world.ingest([world.terminal.sell(card), world.terminal.sell(copy)]).results
    assert [r.code for r in results] == ["card_unknown", "card_cloned"]
    assert shop_balance(world) == 0


@dataclasses.dataclass(frozen=True)
class _Raw:
    """Signed card bytes built by hand: what a forged or broken card could send."""

    raw: bytes

    def encode(self) -> bytes:
        return self.raw


def _forged(card: FakeCard, kind: int, middle: bytes, purses: tuple[PurseMovement, ...]) -> _Raw:
    """A card-signed debit or void proof laid out by hand: card, counter, terminal, nonce, time,
    then ``middle`` (basket digest or original counter), then the purses as given."""
    out = BinaryWriter().u8(kind).raw(card_number_to_bcd(card.number)).u32(card.counter)
    out.ascii("SMD-0001", 8).raw(os.urandom(16)).u32(T0).raw(middle).u8(len(purses))
    for movement in purses:
        movement.write(out)
    body = out.u8(0).u8(0).getvalue()  # no quantities, no other purses
    return _Raw(body + card.key.sign(Domain.CARD_TRANSACTION, body))


def test_card_proof_naming_a_purse_twice_is_refused_and_the_batch_goes_on(world: World) -> None:
    """A card never signs one purse twice (it answers 6A80); the host keeps one signed balance
    per purse and counter. Such a proof does not decode: its sale or void is refused, stored,
    moves no money, and the rest of the batch is decided as usual."""
    card = world.funded_card()
    t = world.terminal
    sale = t.sell(card)
    twice = (PurseMovement("APBD", 35_000, 895_000), PurseMovement("APBD", 35_000, 860_000))
    draft = SaleBody(card.number, card.certificate.encode(), b"", 1, (RICE_5KG,), 0, "kasir-1")
    card.counter += 1
    with pytest.raises(FormatError, match="purse more than once"):  # no encoder makes one
        DebitProof(
            card.number, card.counter, t.terminal_id, bytes(16), T0, bytes(32), twice, ()
        ).body()
    debit = _forged(card, Kind.DEBIT, draft.digest(), twice)
    with pytest.raises(FormatError, match="purse more than once"):
        DebitProof.decode(debit.encode())
    odd_sale = t.append(
        RecordType.SALE, dataclasses.replace(draft, card_proof=debit.encode()).to_value()
    )
    original = DebitProof.decode(SaleBody.from_value(sale.body).card_proof).counter
    card.counter += 1
    back = _forged(card, Kind.VOID, original.to_bytes(4, "big"), twice)
    odd_void = t.append(
        RecordType.VOID,
        VoidBody(
            sale.id, sale.seq, card.number, card.certificate.encode(), back.encode(), "spv-1", "x"
        ).to_value(),
    )
    honest = t.sell(card)
    results = world.ingest([sale, odd_sale, odd_void, honest]).results
    assert [(r.status, r.code, r.stored) for r in results] == [
        ("accepted", "ok", True),
        ("rejected", "malformed", True),
        ("rejected", "malformed", True),
        ("accepted", "ok", True),
    ]
    assert "purse more than once" in results[1].message
    assert shop_balance(world) == -140_000  # both honest sales; the void returned nothing
    with transaction(world.gateway.factory) as session:
        report = run_check(session, world.now)  # the gap of the two is fresh: listed, not failed
    assert report.ok, report.discrepancies
    assert [g["missing"] for g in report.gaps] == [[card.counter - 2, card.counter - 1]]
