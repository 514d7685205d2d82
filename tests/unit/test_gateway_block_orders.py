"""Block orders carry a validity window: the host signs each for a set number of days and, at
hotlist read time, renews the order of a card still hotlisted before it ends. Runs on SQLite and
on the real PostgreSQL server."""

from __future__ import annotations

import datetime as dt

import pytest

from host_gateway import cards
from host_gateway.api.app import _updates
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import Card, HotlistEntry
from ledger.cardproofs import BlockOrder
from ledger.documents import SignedDocument
from ledger.request_auth import b64decode
from tests.factories import T0
from tests.fixtures.gateway import FakeClock, World

DAY = 86_400
NOTHING_HELD = {"catalog": 0, "config": 0, "hotlist": 0, "loads": 0}


def _hotlist(world: World, number: str, **options: int) -> BlockOrder:
    with transaction(world.gateway.factory) as session:
        entry = cards.hotlist_card(
            session, world.gateway.keys, number, cards.BLOCK_LOST, "hilang", world.now, **options
        )
        assert entry.block_order is not None
        return BlockOrder.decode(entry.block_order)


def _orders_in_delta(world: World, held_version: int, seq: int | None = None) -> list[BlockOrder]:
    """What a terminal holding hotlist ``held_version`` downloads now: the orders in the delta."""
    held = {**NOTHING_HELD, "hotlist": held_version}
    answer = _updates(world.gateway, world.context(), held, seq)
    if answer.hotlist.document is None:
        return []
    document = SignedDocument.decode_verified(
        b64decode(answer.hotlist.document), "hotlist", world.gateway.keys.anchors.authority_keys
    )
    return [BlockOrder.decode(e["block_order"]) for e in document.content["entries"]]


def test_a_block_order_is_valid_for_the_configured_days(world: World) -> None:
    order = _hotlist(world, world.card().number)
    assert order.issued == dt.date(2026, 11, 18)  # the WITA date of T0
    assert order.valid_until == dt.date(2027, 2, 16)  # 90 days
    assert order.verify(world.gateway.keys.authority.public_key)
    short = _hotlist(world, world.card().number, valid_days=7)
    assert short.valid_until == dt.date(2026, 11, 25)
    with pytest.raises(GatewayError):
        _hotlist(world, world.card().number, valid_days=0)


def test_a_clones_block_order_has_the_gateways_validity(world: World) -> None:
    world.gateway.ingestor.block_order_days = 30
    card = world.funded_card()
    clone = type(card)(card.certificate, card.key, dict(card.balances), card.counter)
    world.ingest([world.terminal.sell(card), world.terminal.sell(clone)])
    with transaction(world.gateway.factory) as session:
        entry = session.query(HotlistEntry).filter_by(card_number=card.number).one()
        assert entry.block_order is not None
        assert BlockOrder.decode(entry.block_order).valid_until == dt.date(2026, 12, 18)


def test_a_card_still_hotlisted_gets_a_new_order_before_its_order_ends(
    world: World, clock: FakeClock
) -> None:
    card = world.funded_card()  # the first terminal's seq 1
    first = _hotlist(world, card.number)
    other = world.enroll()  # another shop downloads the hotlist, then stays offline
    _updates(world.gateway, world.context(other), NOTHING_HELD, 0)
    clock.now = T0 + 59 * DAY  # 31 days left: nothing to renew yet
    assert _orders_in_delta(world, held_version=1) == []
    clock.now = T0 + 61 * DAY  # 29 days left: the next hotlist read renews it
    renewed = _orders_in_delta(world, held_version=1)
    assert [(o.card_number, o.issued, o.valid_until) for o in renewed] == [
        (card.number, dt.date(2027, 1, 18), dt.date(2027, 4, 18))
    ]
    assert renewed[0].reason == first.reason
    assert len(_orders_in_delta(world, held_version=1)) == 1  # once, not at every read
    # The card was on the list the offline shop held: its later sale is still refused, though
    # the card's newest hotlist entry is one that shop has never seen.
    sale = other.sell(card, time=clock.now)
    result = world.ingest([sale], other).results[0]
    assert (result.status, result.code) == ("rejected", "card_hotlisted")


def test_a_card_that_blocked_itself_needs_no_new_order(world: World, clock: FakeClock) -> None:
    card = world.card()
    _hotlist(world, card.number)
    with transaction(world.gateway.factory) as session:
        session.get_one(Card, card.number).status = "blocked"  # its block receipt came in
    clock.now = T0 + 80 * DAY
    assert _orders_in_delta(world, held_version=1) == []
