"""The host side of PIN unblock: an operator asks, the issuer signs one order for an active card,
terminals that served the card get it, a genuine card applies it at the counter, and the card's
receipt in the uploaded record closes it. Receipts for orders the host never issued, for
another card, or replayed change nothing. Runs on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from drivers.card.session import CardSession
from host_gateway import cards, distribution, pin_unblocks
from host_gateway.api.app import _updates
from host_gateway.api.card_routes import _card_status
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.issuance import issue_card
from host_gateway.models import Card, Event, JournalLine, PinUnblock, StoredRecord
from ledger.bodies import PinUnblockBody
from ledger.cardproofs import (
    UNBLOCK_ORDER_DAYS,
    PinUnblockOrder,
    PinUnblockReceipt,
    sign_unblock_order,
)
from ledger.record import Record, RecordType
from ledger.request_auth import b64decode
from ledger.verify import business_date
from simulators.card.card import SimulatedCard
from simulators.card.direct import DirectReader
from simulators.card.issuance import IssuerKeys as SimIssuerKeys
from simulators.card.state import CardData
from simulators.card.store import CardStore
from terminal.documents import install_catalog, store_pin_unblocks
from terminal.home import TerminalHome
from terminal.sale import Status, Till, balance_inquiry
from tests.factories import T0, FakeCard, FakeTerminal
from tests.fixtures.gateway import FakeClock, World
from tests.fixtures.sale import Clock, terminal_config

PIN = "246810"
DAY = 86_400
NOTHING_HELD = {"catalog": 0, "config": 0, "hotlist": 0, "loads": 0}


def _issue(world: World, number: str, operator: str = "rina", **options: int) -> PinUnblockOrder:
    with transaction(world.gateway.factory) as session:
        row = pin_unblocks.issue_unblock(
            session, world.gateway.keys, number, operator=operator, now=world.now, **options
        )
        return PinUnblockOrder.decode(row.order)


def _orders(world: World, number: str) -> list[dict[str, object]]:
    today = business_date(world.now)
    with transaction(world.gateway.factory) as session:
        rows = pin_unblocks.orders_of(session, number)
        return [pin_unblocks.describe(row, today) for row in rows]


def _delivered(world: World, terminal: FakeTerminal) -> list[PinUnblockOrder]:
    answer = _updates(world.gateway, world.context(terminal), NOTHING_HELD, None)
    return [PinUnblockOrder.decode(b64decode(raw)) for raw in answer.pin_unblocks]


def _asked(world: World, terminal: FakeTerminal, number: str) -> list[PinUnblockOrder]:
    answer = _card_status(world.gateway, world.context(terminal), number)
    return [PinUnblockOrder.decode(b64decode(raw)) for raw in answer.pin_unblocks]


def _journal_lines(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(func.count()).select_from(JournalLine)) or 0)


def _check_ok(world: World) -> None:
    with transaction(world.gateway.factory) as session:
        report = run_check(session, world.now)
    assert report.ok, report.discrepancies


# --- a shop terminal (the sale engine) and a genuine card (the simulator) -----------------


@dataclass
class Shop:
    """An enrolled terminal running the real sale engine, and a card the gateway issued."""

    world: World
    terminal: FakeTerminal
    home: TerminalHome
    till: Till
    card_file: Path
    number: str

    def present(self) -> CardSession:
        reader = DirectReader()
        reader.insert(SimulatedCard.from_file(self.card_file))
        keys = self.world.gateway.keys
        return CardSession(reader.connect(), {keys.ca.key_id: keys.ca.public_key})

    def sync(self) -> None:
        """The terminal keeps the host's list of open orders, as its sync does."""
        answer = _updates(self.world.gateway, self.world.context(self.terminal), NOTHING_HELD, 0)
        orders = [b64decode(raw) for raw in answer.pin_unblocks]
        store_pin_unblocks(self.home.journal, self.home.config.authority_keys, orders, T0)

    def upload(self) -> list[tuple[str, str]]:
        report = self.world.ingest(self.home.journal.records(), self.terminal)
        return [(r.status, r.code) for r in report.results]

    def pin_tries(self) -> int:
        return CardStore(self.card_file).load().pin_tries_left


@pytest.fixture
def shop(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setenv("SSN_TERMINAL_PASSPHRASE", "test passphrase")
    keys = world.gateway.keys
    terminal = world.enroll()
    config = dataclasses.replace(
        terminal_config(SimIssuerKeys(keys.ca, keys.authority)), terminal_id=terminal.terminal_id
    )
    home = TerminalHome.create(tmp_path / "terminal", config, key=terminal.key, synced_at=T0)
    with transaction(world.gateway.factory) as session:
        catalog = distribution.latest_document(session, "catalog")
    assert catalog is not None
    install_catalog(home.journal, config.authority_keys, catalog[1], T0)
    card_file = tmp_path / "card.json"
    CardStore(card_file).create(CardData.blank())
    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(card_file))
    with reader.connect() as connection:
        issued = issue_card(
            world.gateway.factory, keys, connection, holder_name="Siti Aminah",
            programs=("APBD",), pin=PIN, now=world.now, operator="test",
        )  # fmt: skip
    store = CardStore(card_file)
    store.save(store.load().replace(pin_tries_left=0))  # the holder typed it wrong three times
    till = Till(home.config, home.journal, clock=Clock(T0))
    yield Shop(world, terminal, home, till, card_file, issued.card.number)
    home.journal.close()


def test_an_order_reaches_the_card_through_a_shop_and_its_receipt_closes_it(shop: Shop) -> None:
    world, number = shop.world, shop.number
    order = _issue(world, number)
    assert (order.unblock_seq, order.tries, order.valid_until) == (1, 3, dt.date(2026, 12, 18))
    # Only terminals that served the card get it (S4).
    assert _delivered(world, shop.terminal) == []
    with transaction(world.gateway.factory) as session:
        distribution.assign_card(session, number, world.shop_id)
    assert _delivered(world, shop.terminal) == [order]
    assert _asked(world, shop.terminal, number) == [order]
    shop.sync()
    lines = _journal_lines(world)
    outcome = balance_inquiry(shop.till, shop.present(), PIN)
    assert outcome.status is Status.COMPLETED, outcome
    assert [(r.kind, r.result) for r in outcome.resolutions] == [("pin_unblock", "completed")]
    assert shop.pin_tries() == 3  # the holder's own PIN works again (verified above)
    assert shop.upload() == [("accepted", "ok")]
    (closed,) = _orders(world, number)
    assert closed["state"] == "applied"
    assert (closed["applied_terminal"], closed["applied_at"]) == (shop.terminal.terminal_id, T0)
    assert _delivered(world, shop.terminal) == [] and _asked(world, shop.terminal, number) == []
    assert _journal_lines(world) == lines  # no money moved
    # The same upload again: the stored answer, nothing changes.
    assert shop.upload() == [("accepted", "ok")]
    # The very receipt in a new record of the shop (a replay) is refused and changes nothing.
    (record,) = shop.home.journal.records()
    resend = FakeTerminal(shop.terminal.terminal_id, shop.terminal.key, record.seq, record.hash())
    again = resend.append(RecordType.PIN_UNBLOCK, record.body, T0 + 60)
    result = world.ingest([again], shop.terminal).results[0]
    assert (result.status, result.code) == ("rejected", "unblock_replayed")
    assert _orders(world, number) == [closed]
    _check_ok(world)


# --- attacks with cards built in the test (tests.factories) -------------------------------


def _receipt(card: FakeCard, order: PinUnblockOrder, terminal_id: str, time: int) -> bytes:
    return (
        PinUnblockReceipt(
            card_number=card.number,
            counter=card.counter,
            terminal_id=terminal_id,
            time=time,
            unblock_seq=order.unblock_seq,
            tries=order.tries,
        )
        .signed_by(card.key)
        .encode()
    )


def _record(
    terminal: FakeTerminal, card: FakeCard, order: PinUnblockOrder, time: int = T0
) -> Record:
    body = PinUnblockBody(
        card.number,
        card.certificate.encode(),
        order.encode(),
        _receipt(card, order, terminal.terminal_id, time),
    )
    return terminal.append(RecordType.PIN_UNBLOCK, body.to_value(), time)


def _outcome(world: World, record: Record) -> tuple[str, str]:
    result = world.ingest([record]).results[0]
    return result.status, result.code


def test_the_host_and_the_card_simulator_sign_the_same_order(world: World) -> None:
    """One writing of the order (ledger): the bytes the host signs are the bytes the simulator's
    issuer signs with the same key, so a test card obeys exactly what the host sends."""
    card = world.card()
    order = _issue(world, card.number)
    keys = world.gateway.keys
    assert order.valid_until == order.issued + dt.timedelta(days=UNBLOCK_ORDER_DAYS)
    simulated = SimIssuerKeys(keys.ca, keys.authority).unblock_order(
        card.number, order.unblock_seq, order.issued, tries=order.tries
    )
    assert simulated.encode() == order.encode()
    shared = sign_unblock_order(keys.authority, card.number, 1, order.tries, order.issued)
    assert shared.encode() == order.encode()
    assert shared.verify(keys.authority.public_key)


def test_an_order_for_another_card_is_refused_and_stays_open(world: World) -> None:
    mine, other = world.card(), world.card()
    order = _issue(world, other.number)
    # The shop relays the other card's order to this card (the card itself refuses it, 6A88)
    # and records this card's receipt with it.
    receipt = _receipt(mine, order, world.terminal.terminal_id, T0)
    body = PinUnblockBody(mine.number, mine.certificate.encode(), order.encode(), receipt)
    record = world.terminal.append(RecordType.PIN_UNBLOCK, body.to_value(), T0)
    assert _outcome(world, record) == ("rejected", "card_mismatch")
    assert [o["state"] for o in _orders(world, other.number)] == ["open"]
    assert _orders(world, mine.number) == []


def test_an_order_the_host_never_issued_is_refused(world: World) -> None:
    card = world.card()
    # Signed by the issuer authority but never recorded here (a key misused outside the host).
    unrecorded = sign_unblock_order(
        world.gateway.keys.authority, card.number, 1, 3, dt.date(2026, 11, 18), 30
    )
    assert _outcome(world, _record(world.terminal, card, unrecorded)) == (
        "rejected",
        "unblock_unknown",
    )
    # Signed by another key: not the issuer's at all.
    stranger = SimIssuerKeys.generate().unblock_order(card.number, 1, dt.date(2026, 11, 18))
    assert _outcome(world, _record(world.terminal, card, stranger)) == (
        "rejected",
        "issuer_signature",
    )
    # Our order 1 exists now, but the record carries other bytes under its number.
    _issue(world, card.number, tries=2)
    assert _outcome(world, _record(world.terminal, card, unrecorded)) == (
        "rejected",
        "unblock_unknown",
    )
    assert [o["state"] for o in _orders(world, card.number)] == ["open"]


def test_the_card_answering_an_applied_order_again_changes_nothing(world: World) -> None:
    """A second terminal met the card PIN-blocked again before it synced: the card answers the
    order it applied last with a fresh receipt and resets nothing; the order stays closed by the
    first receipt and nothing is delivered again."""
    card = world.card()
    order = _issue(world, card.number)
    assert _outcome(world, _record(world.terminal, card, order)) == ("accepted", "ok")
    (first,) = _orders(world, card.number)
    other = world.enroll()
    result = world.ingest([_record(other, card, order, T0 + 600)], other).results[0]
    assert (result.status, result.code) == ("accepted", "ok")
    assert _orders(world, card.number) == [first]
    assert first["applied_terminal"] == world.terminal.terminal_id
    _check_ok(world)


def test_two_records_of_one_receipt_in_one_batch(world: World) -> None:
    card = world.card()
    order = _issue(world, card.number)
    record = _record(world.terminal, card, order)
    copy = world.terminal.append(RecordType.PIN_UNBLOCK, record.body, T0 + 1)
    results = world.ingest([record, copy]).results
    assert [(r.status, r.code) for r in results] == [
        ("accepted", "ok"),
        ("rejected", "unblock_replayed"),
    ]
    with transaction(world.gateway.factory) as session:
        row = session.get_one(PinUnblock, (card.number, 1))
        assert row.applied_record == record.id.bytes


# --- asking for an order ------------------------------------------------------------------


def test_only_an_active_card_gets_an_order_and_only_one_at_a_time(
    world: World, clock: FakeClock
) -> None:
    card = world.card()
    first = _issue(world, card.number, operator="rina")
    with pytest.raises(GatewayError) as refused:
        _issue(world, card.number, operator="budi")
    assert refused.value.code == "unblock_open"
    assert "order 1 open" in refused.value.message and "rina" in refused.value.message
    clock.now = T0 + 31 * DAY
    assert [o["state"] for o in _orders(world, card.number)] == ["expired"]
    second = _issue(world, card.number)
    assert (first.unblock_seq, second.unblock_seq) == (1, 2)
    with transaction(world.gateway.factory) as session:
        audited = [
            e.message
            for e in session.scalars(select(Event).where(Event.code == "operator"))
            if "unblock-pin" in e.message
        ]
    assert [m.split(":")[0] for m in audited] == ["rina", "rina"]
    for bad in ({"tries": 0}, {"tries": 16}, {"valid_days": 0}):
        with pytest.raises(GatewayError):
            _issue(world, world.card().number, **bad)
    with pytest.raises(GatewayError) as unknown:
        _issue(world, "6060019999999996")
    assert unknown.value.status == 404


def test_a_hotlisted_card_gets_no_order_and_loses_the_open_one(world: World) -> None:
    card, listed = world.card(), world.card()
    with transaction(world.gateway.factory) as session:
        cards.hotlist_card(session, world.gateway.keys, listed.number, 1, "hilang", world.now)
    with pytest.raises(GatewayError) as refused:
        _issue(world, listed.number)
    assert refused.value.code == "card_not_active" and "hotlisted" in refused.value.message
    order = _issue(world, card.number)
    assert _asked(world, world.terminal, card.number) == [order]
    with transaction(world.gateway.factory) as session:
        cards.hotlist_card(session, world.gateway.keys, card.number, 1, "hilang", world.now)
    assert _asked(world, world.terminal, card.number) == []
    assert _delivered(world, world.terminal) == []


def test_a_record_before_any_order_does_not_stop_the_batch(world: World) -> None:
    """Today's ingest takes the new record type in a batch with a sale: each gets its answer."""
    card = world.funded_card()
    stray = sign_unblock_order(
        world.gateway.keys.authority, card.number, 7, 3, dt.date(2026, 11, 18), 30
    )
    batch = [_record(world.terminal, card, stray), world.terminal.sell(card)]
    results = world.ingest(batch).results
    assert [(r.status, r.code) for r in results] == [
        ("rejected", "unblock_unknown"),
        ("accepted", "ok"),
    ]
    with transaction(world.gateway.factory) as session:
        stored = session.scalars(
            select(StoredRecord.type).where(StoredRecord.card_number == card.number)
        ).all()
    assert sorted(stored) == ["load", "pin_unblock", "sale"]
    _check_ok(world)


@pytest.mark.parametrize("together", [False, True], ids=["stored", "same_batch"])
def test_a_debit_dated_before_an_unblock_order_the_card_applied_is_a_copys(
    world: World, together: bool
) -> None:
    """Applying a PIN-unblock order moves the card's trusted date to the order's date, as a
    load does: a genuine card then refuses any debit dated earlier (9407). A debit at a later
    counter dated before the order was signed outside the card: refused, the card flagged."""
    card = world.funded_card()  # its load is dated T0
    world.gateway.clock.now = T0 + 2 * DAY  # type: ignore[attr-defined]
    order = _issue(world, card.number)
    unblocked = _record(world.terminal, card, order, T0 + 2 * DAY)
    forged = world.terminal.sell(card, time=T0 + DAY)  # after the load, before the order
    world.gateway.clock.now = T0 + 2 * DAY + 600  # type: ignore[attr-defined]
    if together:
        results = world.ingest([unblocked, forged]).results
    else:
        results = [*world.ingest([unblocked]).results, *world.ingest([forged]).results]
    assert [(r.status, r.code) for r in results] == [
        ("accepted", "ok"),
        ("rejected", "proof_before_trusted_date"),
    ]
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Card, card.number).status == "cloned"


def test_a_debit_after_an_unblock_order_dated_after_it_is_no_copy(world: World) -> None:
    card = world.funded_card()
    world.gateway.clock.now = T0 + 2 * DAY  # type: ignore[attr-defined]
    order = _issue(world, card.number)
    unblocked = _record(world.terminal, card, order, T0 + 2 * DAY)
    sale = world.terminal.sell(card, time=T0 + 2 * DAY + 300)
    world.gateway.clock.now = T0 + 2 * DAY + 600  # type: ignore[attr-defined]
    results = [*world.ingest([unblocked]).results, *world.ingest([sale]).results]
    assert [(r.status, r.code) for r in results] == [("accepted", "ok"), ("accepted", "ok")]
