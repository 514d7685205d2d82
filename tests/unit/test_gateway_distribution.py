"""What terminals download (catalog, config, hotlist deltas, loads), card registration, schema."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import select

from host_gateway import cards, distribution, postings
from host_gateway.api.app import _updates, create_app
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.gateway import Gateway
from host_gateway.models import Account, Base, Card, HotlistFetch, PublishedDocument
from host_gateway.partitions import compare_filter
from host_gateway.sealing import unseal
from host_gateway.web import models as _console_models  # noqa: F401  (compared too)
from ledger.catalog import Catalog
from ledger.crypto import SigningKey
from ledger.documents import SignedDocument
from ledger.request_auth import b64decode, sign_request
from tests.fixtures.gateway import CATALOG, World, load_record

NOTHING_HELD = {"catalog": 0, "config": 0, "hotlist": 0, "loads": 0}


def test_terminal_gets_each_document_once_and_it_verifies(world: World) -> None:
    authority = world.gateway.keys.anchors.authority_keys
    first = _updates(world.gateway, world.context(), NOTHING_HELD, None)
    assert first.catalog is not None and first.config is not None
    catalog = Catalog.from_document(
        SignedDocument.decode_verified(b64decode(first.catalog.document), "catalog", authority)
    )
    assert catalog.item(CATALOG["items"][0]["gtin"]) is not None
    held = {**NOTHING_HELD, "catalog": first.catalog.version, "config": first.config.version}
    second = _updates(world.gateway, world.context(), held, None)
    assert second.catalog is None and second.config is None
    assert second.hotlist.document is None


def test_bad_catalog_publishes_nothing(world: World) -> None:
    bad: dict[str, Any] = {**CATALOG, "items": [{**CATALOG["items"][0], "het": 0}]}
    with transaction(world.gateway.factory) as session, pytest.raises(GatewayError) as refused:
        distribution.publish_catalog(session, world.gateway.keys, bad, world.now)
    assert "HET" in refused.value.message
    with transaction(world.gateway.factory) as session:
        assert distribution.latest_version(session, "catalog") == 1


def test_bad_config_is_refused_whole(sqlite_world: World) -> None:
    world = sqlite_world
    config = {**distribution.DEFAULT_CONFIG, "risk": {"max_offline_sale": "lots"}}
    with transaction(world.gateway.factory) as session, pytest.raises(GatewayError) as refused:
        distribution.publish_config(session, world.gateway.keys, config, world.now)
    assert "risk" in refused.value.message


def test_hotlist_delta_carries_block_orders_since_the_version_held(world: World) -> None:
    first, second = world.card(), world.card()
    with transaction(world.gateway.factory) as session:
        cards.hotlist_card(session, world.gateway.keys, first.number, 1, "hilang", world.now)
        cards.hotlist_card(
            session, world.gateway.keys, second.number, 3, "fraud", world.now, block=False
        )
    authority = world.gateway.keys.anchors.authority_keys
    update = _updates(world.gateway, world.context(), {**NOTHING_HELD, "hotlist": 1}, 5)
    assert update.hotlist.version == 2 and update.hotlist.document is not None
    document = SignedDocument.decode_verified(
        b64decode(update.hotlist.document), "hotlist", authority, newer_than=1
    )
    assert document.content["since"] == 1
    assert [e["card"] for e in document.content["entries"]] == [second.number]
    assert document.content["entries"][0]["block_order"] is None


def test_loads_are_offered_until_applied(world: World) -> None:
    card = world.card()
    authorization = world.authorize(card, 100_000)
    assert _updates(world.gateway, world.context(), NOTHING_HELD, None).loads.pending == []
    with transaction(world.gateway.factory) as session:  # the card is presented (GET /v1/cards)
        distribution.note_served(session, world.terminal.terminal_id, [card.number])
    offered = _updates(world.gateway, world.context(), NOTHING_HELD, None).loads
    assert [(ld.card_number, ld.load_seq) for ld in offered.pending] == [(card.number, 1)]
    assert offered.pending[0].authorization is not None
    world.ingest([load_record(world.terminal, card, authorization)])
    later = _updates(
        world.gateway, world.context(), {**NOTHING_HELD, "loads": offered.version}, None
    )
    assert later.loads.pending == []
    assert [(ld.card_number, ld.load_seq) for ld in later.loads.applied] == [(card.number, 1)]


def test_card_registration_seals_the_nik(world: World) -> None:
    key = SigningKey.generate()
    with transaction(world.gateway.factory) as session:
        issued = cards.register_card(
            session,
            world.gateway.keys,
            holder_name="Rahmawati",
            programs=["APBD"],
            public_key=key.public_key,
            now=world.now,
            nik="6472015501800001",
        )
    assert issued.certificate.public_key == key.public_key
    assert issued.certificate.verify(world.gateway.keys.ca.public_key)
    with transaction(world.gateway.factory) as session:
        card = session.get_one(Card, issued.card.number)
        assert card.nik_sealed is not None and b"6472015501800001" not in card.nik_sealed
        nik = unseal(world.gateway.keys.nik_key, card.nik_sealed, b"nik:" + card.number.encode())
        assert nik == b"6472015501800001"


def test_card_registration_refusals(sqlite_world: World) -> None:
    world, key = sqlite_world, SigningKey.generate().public_key
    cases: list[tuple[dict[str, Any], str]] = [
        ({"programs": ["XXXX"]}, "unknown programs"),
        ({"programs": []}, "at least one program"),
        ({"number": "1234567812345678"}, "not a valid"),
        ({"nik": "12"}, "NIK"),
        ({"public_key": b"short"}, "32 bytes"),
        ({"public_key": (1).to_bytes(32, "little")}, "not a usable Ed25519 key"),
    ]
    for change, message in cases:
        args: dict[str, Any] = {"holder_name": "A", "programs": ["APBD"], "public_key": key}
        args.update(change)
        with transaction(world.gateway.factory) as session, pytest.raises(GatewayError) as bad:
            cards.register_card(session, world.gateway.keys, now=world.now, **args)
        assert message in bad.value.message
    with transaction(world.gateway.factory) as session:
        assert session.scalars(select(Card)).all() == []


def test_migrations_build_exactly_the_models(gateway: Gateway) -> None:
    """On PostgreSQL the journal tables are partitioned by month: what that changes is
    declared once (partitions.compare_filter) and checked in test_gateway_partitions."""
    with gateway.engine.connect() as connection:
        include = compare_filter(connection.dialect.name)
        opts = {"compare_type": True, "include_object": include}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, Base.metadata) == []
    with transaction(gateway.factory) as session:
        assert session.scalars(select(PublishedDocument.kind)).all() == ["config"]


def test_hotlist_position_is_the_first_fetch_of_a_version(sqlite_world: World) -> None:
    world = sqlite_world
    card = world.funded_card()  # seq 1
    with transaction(world.gateway.factory) as session:
        cards.hotlist_card(session, world.gateway.keys, card.number, 1, "hilang", world.now)
    held = {**NOTHING_HELD, "hotlist": 0}
    _updates(world.gateway, world.context(), held, 1)
    _updates(world.gateway, world.context(), {**held, "hotlist": 1}, 5)  # later syncs
    with transaction(world.gateway.factory) as session:
        assert session.scalars(select(HotlistFetch.seq)).all() == [1]
    late_upload = world.terminal.sell(card)  # seq 2 > 1: made while holding the hotlist
    assert world.ingest([late_upload]).results[0].code == "card_hotlisted"


@pytest.mark.parametrize("claim", ["honest", "missing", "huge"])
def test_hotlist_binds_from_what_the_host_holds_whatever_seq_is_claimed(
    sqlite_world: World, claim: str
) -> None:
    """The fetch position is the claimed seq capped by the terminal's chain end at the host: a
    terminal that leaves seq out or claims more than it uploaded is bound like an honest one."""
    world = sqlite_world
    card = world.funded_card()  # seq 1
    before = world.terminal.sell(card)  # seq 2: sold before the hotlist reached the shop
    with transaction(world.gateway.factory) as session:
        cards.hotlist_card(session, world.gateway.keys, card.number, 1, "hilang", world.now)
    assert world.ingest([before]).results[0].status == "accepted"  # uploaded, then download
    seq = {"honest": f"&seq={world.terminal.seq}", "missing": "", "huge": f"&seq={2**62}"}[claim]
    path = f"/v1/updates?catalog=1&config=1&hotlist=0&loads=0{seq}"
    t = world.terminal
    headers = sign_request(t.key, t.terminal_id, "GET", path, b"", world.now)
    answer = TestClient(create_app(world.gateway)).get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["hotlist"]["document"] is not None  # the terminal now knows the card
    after = world.terminal.sell(card)  # seq 3
    result = world.ingest([after]).results[0]
    assert (result.status, result.code) == ("rejected", "card_hotlisted")
    with transaction(world.gateway.factory) as session:
        owed = session.scalar(
            select(Account.balance).where(Account.code == postings.shop(world.shop_id))
        )
    assert owed == -70_000  # the sale before the download is paid, the one after is not
