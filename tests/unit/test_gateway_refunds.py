"""Refunds after the card session: two operators, issuer-signed REFUND loads, the shop pays."""

from __future__ import annotations

import pytest

from host_gateway import distribution, refunds
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from ledger.cardproofs import LoadAuthorization
from tests.fixtures.gateway import World, load_record, void_record
from tests.unit.test_gateway_continuity import assert_books_match_card, payable, proof_of


def ask(world: World, reference: str, amount: int, operator: str = "Ani") -> int:
    with transaction(world.gateway.factory) as session:
        return refunds.create(session, reference, amount, operator, "beras rusak", world.now).id


def approve(world: World, refund_id: int, operator: str) -> list[LoadAuthorization]:
    with transaction(world.gateway.factory) as session:
        created = refunds.approve(session, world.gateway.keys, refund_id, operator, world.now)
        return [LoadAuthorization.decode(load.authorization) for load in created]


def test_a_refund_needs_a_second_operator_and_the_shop_pays_it(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    world.ingest([sale])
    reference = f"{sale.terminal_id}/{sale.seq}"
    first = ask(world, reference, 30_000)
    with pytest.raises(GatewayError, match="another operator"):
        approve(world, first, "ani")
    assert payable(world, world.shop_id) == 70_000
    [authorization] = approve(world, first, "Budi")
    assert (authorization.purpose, authorization.refund_of) == (
        LoadAuthorization.REFUND,
        proof_of(sale).counter,
    )
    assert (authorization.purse_code, authorization.amount) == ("APBD", 30_000)
    assert authorization.verify(world.gateway.keys.authority.public_key)
    assert payable(world, world.shop_id) == 40_000  # the shop pays the refund at approval
    with transaction(world.gateway.factory) as session:  # delivered like any pending load
        offered = distribution.loads_delta(session, world.terminal.terminal_id, 0).pending
        assert [load.authorization for load in offered] == [authorization.encode()]
    with pytest.raises(GatewayError, match="was approved"):
        approve(world, first, "Citra")
    with pytest.raises(GatewayError, match=r"1\.\.40000"):
        ask(world, reference, 40_001)  # never more than the sale paid, in total
    applied = world.ingest([load_record(world.terminal, card, authorization)]).results[0]
    assert (applied.status, applied.code) == ("accepted", "ok")
    assert_books_match_card(world, card)


def test_a_sale_cancelled_on_the_card_or_not_accepted_is_not_refunded(world: World) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    void, _ = void_record(world.terminal, card, sale)
    world.ingest([sale, void])
    with pytest.raises(GatewayError, match="cancelled on the card"):
        ask(world, f"{sale.terminal_id}/{sale.seq}", 10_000)
    with pytest.raises(GatewayError, match="not an accepted sale"):
        ask(world, f"{void.terminal_id}/{void.seq}", 10_000)
    with pytest.raises(GatewayError, match="TERMINAL/SEQ"):
        ask(world, "SMD-0001", 10_000)
