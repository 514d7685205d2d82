"""A recipient's card: issued with the display name (never the NIK), replaced with its last
confirmed balance carried over and late debits honoured and booked, closed with its value back to
the program; the books balance after every step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from drivers.card.transport import CardTransport
from host_gateway import distribution, postings
from host_gateway.db import transaction
from host_gateway.models import Account, Card, HotlistEntry, Load
from host_gateway.programs import cardlife
from host_gateway.programs.models import CardLife, Recipient
from ledger.cardproofs import LoadAuthorization
from simulators.card.card import SimulatedCard
from simulators.card.direct import DirectReader
from simulators.card.state import CardData
from simulators.card.store import CardStore
from tests.fixtures.gateway import World, load_record
from tests.fixtures.programs import assert_books_balance, define_programs, recipient_with_card
from tests.unit.test_programs_aid import approve, prepare, status

PIN = "135790"


@contextmanager
def blank_card(path: Path) -> Iterator[CardTransport]:
    CardStore(path).create(CardData.blank())
    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(path))
    with reader.connect() as connection:
        yield connection


def balance(world: World, account: str) -> int:
    with transaction(world.gateway.factory) as session:
        row = session.get(Account, account)
        return int(row.balance) if row else 0


def test_replacement_carries_the_confirmed_balance_and_books_late_debits(
    world: World, tmp_path: Path
) -> None:
    define_programs(world)
    recipient, old = recipient_with_card(world, 1)
    world.ingest([load_record(world.terminal, old, world.authorize(old, 300_000), world.now)])
    world.ingest([world.terminal.sell(old)])
    confirmed = old.balances["APBD"]
    late = world.terminal.sell(old)  # made before the block, uploaded after the replacement
    assert_books_balance(world)
    with blank_card(tmp_path / "new.json") as transport:
        issued, carried = cardlife.replace(
            world.gateway.factory, world.gateway.keys, transport,
            old_number=old.number, pin=PIN, now=world.now, operator="Ani",
        )  # fmt: skip
    new = issued.card.number
    assert carried == {"APBD": confirmed}
    assert CardStore(tmp_path / "new.json").load().holder_name == "Siti"  # the chosen name
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, old.number).status == "hotlisted"
        assert session.get_one(Recipient, recipient).card_number == new
        assert session.get_one(CardLife, old.number).replaced_by == new
        [load] = session.scalars(select(Load).where(Load.card_number == new))
        authorization = LoadAuthorization.decode(load.authorization)
    assert (authorization.purse_code, authorization.amount) == ("APBD", confirmed)
    assert authorization.verify(world.gateway.keys.authority.public_key)
    assert_books_balance(world)
    fund_before = balance(world, postings.fund("APBD"))

    result = world.ingest([late]).results[0]
    assert (result.status, result.code) == ("accepted", "ok")  # honoured: the shop is paid
    with transaction(world.gateway.factory) as session:
        moved = cardlife.book_differences(session, world.now)
    debit = confirmed - old.balances["APBD"]
    assert moved == {cardlife.withdrawn(old.number, "APBD"): debit}
    assert balance(world, postings.fund("APBD")) == fund_before + debit  # the fund paid it
    assert balance(world, cardlife.withdrawn(old.number, "APBD")) == old.balances["APBD"]
    with transaction(world.gateway.factory) as session:
        assert cardlife.book_differences(session, world.now) == {}  # booked once
    assert_books_balance(world)


def test_closing_a_card_returns_its_value_to_the_program(world: World) -> None:
    define_programs(world)
    recipient, card = recipient_with_card(world, 1)
    world.ingest([load_record(world.terminal, card, world.authorize(card, 200_000), world.now)])
    world.ingest([world.terminal.sell(card)])
    fund_before = balance(world, postings.fund("APBD"))
    with transaction(world.gateway.factory) as session:
        moved = cardlife.close(session, world.gateway.keys, card.number, world.now)
    remaining = card.balances["APBD"]
    assert moved == {cardlife.withdrawn(card.number, "APBD"): -remaining}
    assert balance(world, postings.fund("APBD")) == fund_before - remaining  # credit: returned
    with transaction(world.gateway.factory) as session:
        person = session.get_one(Recipient, recipient)
        assert (person.status, person.card_number) == ("left", None)
        entry = session.scalars(
            select(HotlistEntry).where(HotlistEntry.card_number == card.number)
        ).one()
        assert (entry.reason, entry.block_order is not None) == (4, True)
    assert_books_balance(world)


def test_a_load_the_lost_card_never_took_goes_to_the_new_card_once(
    world: World, tmp_path: Path
) -> None:
    """This month's aid was signed for the card; the holder lost it before shopping. The new
    card gets the aid (signed again for it); the old load is no longer delivered, and if the old
    card takes it anyway its money is held, never paid twice."""
    define_programs(world)
    _, old = recipient_with_card(world, 1)
    world.ingest([load_record(world.terminal, old, world.authorize(old, 300_000), world.now)])
    aid = world.authorize(old, 200_000)  # signed, delivered, not yet on the card
    pending_before = balance(world, postings.pending("APBD"))
    with blank_card(tmp_path / "new.json") as transport:
        issued, _ = cardlife.replace(
            world.gateway.factory, world.gateway.keys, transport,
            old_number=old.number, pin=PIN, now=world.now, operator="Ani",
        )  # fmt: skip
    new = issued.card.number
    with transaction(world.gateway.factory) as session:
        offered_old = distribution.pending_loads_of(session, old.number)
        offered_new = distribution.pending_loads_of(session, new)
        dropped = distribution.loads_delta(session, world.terminal.terminal_id, 0).applied
    assert offered_old == []  # never delivered again
    amounts = sorted(LoadAuthorization.decode(ld.authorization).amount for ld in offered_new)
    assert amounts == [200_000, 300_000]  # the aid, and the confirmed balance carried
    assert aid.load_seq in {ld.load_seq for ld in dropped if ld.card_number == old.number}
    # the carried aid's money was already waiting in pending: nothing else moved for it
    assert balance(world, postings.pending("APBD")) == pending_before - 300_000  # (a credit)
    assert_books_balance(world)
    late = world.ingest([load_record(world.terminal, old, aid, world.now)]).results[0]
    assert (late.status, late.code) == ("rejected", "load_superseded")
    assert balance(world, postings.suspense("APBD")) == 200_000  # held, flagged, not paid twice
    assert_books_balance(world)


def test_a_closed_card_s_untaken_load_goes_back_to_the_fund(world: World) -> None:
    define_programs(world)
    _, card = recipient_with_card(world, 1)
    world.authorize(card, 200_000)
    fund_before = balance(world, postings.fund("APBD"))
    with transaction(world.gateway.factory) as session:
        cardlife.close(session, world.gateway.keys, card.number, world.now)
        assert distribution.pending_loads_of(session, card.number) == []
    assert balance(world, postings.fund("APBD")) == fund_before - 200_000  # credit: returned
    assert_books_balance(world)


def test_the_aid_batch_counts_a_line_carried_to_the_new_card(world: World, tmp_path: Path) -> None:
    """The program officer's view: the lost card's line is carried, not pending forever."""
    define_programs(world)
    _, old = recipient_with_card(world, 1)
    batch = prepare(world)
    assert approve(world, batch, "Budi") == 1
    with blank_card(tmp_path / "new.json") as transport:
        cardlife.replace(
            world.gateway.factory, world.gateway.keys, transport,
            old_number=old.number, pin=PIN, now=world.now, operator="Ani",
        )  # fmt: skip
    counts = status(world, batch)["counts"]
    assert isinstance(counts, dict)
    assert (counts["pending"], counts["carried"]) == (0, 1)
