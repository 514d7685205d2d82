"""Monthly aid with maker-checker: one operator prepares, another approves, the issuer signs one
load per card; operators see what is pending, delivered and confirmed, and why not."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from host_gateway import distribution, postings
from host_gateway.cards import hotlist_card
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import Account, Load
from host_gateway.programs import aid, reports
from ledger.cardproofs import LoadAuthorization
from tests.fixtures.gateway import FakeClock, World, load_record
from tests.fixtures.programs import (
    assert_books_balance,
    csv_file,
    define_programs,
    import_csv,
    recipient_with_card,
    row,
)


def prepare(world: World, operator: str = "Ani", period: str = "2026-11") -> int:
    with transaction(world.gateway.factory) as session:
        return aid.prepare(session, "APBD", period, operator, world.now).batch.id


def approve(world: World, batch: int, operator: str) -> int:
    with transaction(world.gateway.factory) as session:
        return aid.approve(session, world.gateway.keys, batch, operator, world.now)


def status(world: World, batch: int) -> dict[str, object]:
    with transaction(world.gateway.factory) as session:
        return aid.status(session, batch)


def authorizations(world: World) -> dict[str, LoadAuthorization]:
    with transaction(world.gateway.factory) as session:
        return {
            load.card_number: LoadAuthorization.decode(load.authorization)
            for load in session.scalars(select(Load))
        }


def test_loads_need_a_second_operator_and_the_card_confirms_them(world: World) -> None:
    define_programs(world)
    _, first = recipient_with_card(world, 1)
    _, second = recipient_with_card(world, 2)
    import_csv(world, csv_file(row(3)))  # no card yet: gets nothing this period
    batch = prepare(world)
    assert status(world, batch)["counts"] == {
        "prepared": 2, "pending": 0, "delivered": 0, "confirmed": 0, "not_signed": 0, "carried": 0,
    }  # fmt: skip
    with pytest.raises(GatewayError, match="another operator"):
        approve(world, batch, " ani ")
    with pytest.raises(GatewayError, match="already prepared"):
        prepare(world, "Budi")
    assert authorizations(world) == {}
    assert approve(world, batch, "Budi") == 2
    with pytest.raises(GatewayError, match="approved by Budi"):
        approve(world, batch, "Citra")
    signed = authorizations(world)
    assert set(signed) == {first.number, second.number}
    for authorization in signed.values():
        assert authorization.verify(world.gateway.keys.authority.public_key)
        assert (authorization.purse_code, authorization.amount) == ("APBD", 200_000)
        assert authorization.expiry == dt.date(2027, 1, 31)  # 3 monthly periods from November
    assert_books_balance(world)
    with transaction(world.gateway.factory) as session:
        pending = session.get_one(Account, postings.pending("APBD")).balance
        assert pending == -400_000
        distribution.note_served(session, world.terminal.terminal_id, [first.number])
    report = world.ingest([load_record(world.terminal, first, signed[first.number], world.now)])
    assert report.results[0].status == "accepted"
    shown = status(world, batch)
    assert shown["counts"] == {
        "prepared": 0, "pending": 1, "delivered": 0, "confirmed": 1, "not_signed": 0, "carried": 0,
    }  # fmt: skip
    assert shown["waiting"] == [
        {
            "card": second.number,
            "why": "no terminal has served the card yet: it gets the load when presented online",
        }
    ]
    assert_books_balance(world)
    with transaction(world.gateway.factory) as session:
        [apbd] = reports.aid(session)
        by_place = reports.recipients(session)
    assert apbd == {
        "program": "APBD", "aid_signed": 400_000, "aid_confirmed": 200_000,
        "spent": 0, "expired": 0, "on_cards": 200_000,
    }  # fmt: skip
    assert by_place == [
        {
            "kecamatan": "Samarinda Utara", "kelurahan": "Sempaja Selatan", "program": "APBD",
            "registered": 3, "with_card": 2, "aid_received": 1,
        }
    ]  # fmt: skip


def test_a_batch_is_approved_from_its_load_day_and_skips_cards_no_longer_active(
    world: World, clock: FakeClock
) -> None:
    define_programs(world)
    _, kept = recipient_with_card(world, 1)
    _, lost = recipient_with_card(world, 2)
    batch = prepare(world, period="2026-12")
    with pytest.raises(GatewayError, match="loaded from 2026-12-01"):
        approve(world, batch, "Budi")
    clock.now += 14 * 86_400
    with transaction(world.gateway.factory) as session:
        hotlist_card(session, world.gateway.keys, lost.number, 1, "lost", world.now)
    assert approve(world, batch, "Budi") == 1
    assert set(authorizations(world)) == {kept.number}
    assert status(world, batch)["waiting"] == [
        {
            "card": kept.number,
            "why": "no terminal has served the card yet: it gets the load when presented online",
        },
        {"card": lost.number, "why": "card was hotlisted at approval"},
    ]
    assert_books_balance(world)
