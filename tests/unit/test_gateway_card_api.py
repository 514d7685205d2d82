"""The terminal API of "the host sees every counter": what the host misses of a card, card
messages read from card logs, stuck intents and their resolutions, loads only for cards served."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from host_gateway import distribution
from host_gateway.api.app import create_app
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from ledger.bodies import SaleBody
from ledger.request_auth import b64decode, b64encode, sign_request
from tests.factories import FakeTerminal
from tests.fixtures.gateway import World, void_record

UPDATES = "/v1/updates?catalog=0&config=0&hotlist=0&loads=0"


class Api:
    def __init__(self, world: World) -> None:
        self.world, self.client = world, TestClient(create_app(world.gateway))

    def __call__(
        self, terminal: FakeTerminal, method: str, path: str, payload: Any = None
    ) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = sign_request(
            terminal.key, terminal.terminal_id, method, path, body, self.world.now
        )
        headers["content-type"] = "application/json"
        answer: httpx.Response = self.client.request(method, path, content=body, headers=headers)
        return answer


@pytest.fixture
def api(sqlite_world: World) -> Api:
    return Api(sqlite_world)


def test_evidence_is_verified_stored_once_and_answered_per_message(api: Api) -> None:
    world = api.world
    card = world.funded_card()
    sale = world.terminal.sell(card)
    _, void_proof = void_record(world.terminal, card, sale)
    world.ingest([sale])
    messages = [b64encode(void_proof.encode()), b64encode(b"\x03nonsense"), "AAAA"]
    answer = api(world.terminal, "POST", "/v1/evidence", {"messages": messages})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["result"], r["code"]) for r in results] == [
        ("stored", "void_from_log"),
        ("refused", "malformed"),
        ("refused", "malformed"),
    ]
    assert results[0]["card_number"] == card.number and results[0]["counter"] == 3
    again = api(world.terminal, "POST", "/v1/evidence", {"messages": messages[:1]})
    assert [r["result"] for r in again.json()["results"]] == ["known"]
    unsigned = api.client.post("/v1/evidence", json={"messages": messages[:1]})
    assert unsigned.status_code == 401
    bad = api(world.terminal, "POST", "/v1/evidence", {"messages": ["A", messages[0]]})
    assert bad.status_code == 200, bad.text  # not base64url: refused alone, the rest goes on
    assert [(r["result"], r["code"]) for r in bad.json()["results"]] == [
        ("refused", "malformed"),
        ("known", "known"),
    ]
    empty = api(world.terminal, "POST", "/v1/evidence", {"messages": []})
    assert empty.status_code == 422


def test_wanted_counters_go_to_terminals_that_served_the_card(api: Api) -> None:
    world = api.world
    card = world.funded_card()  # at world.terminal
    offline, stranger = world.enroll(), world.enroll()
    offline.sell(card)  # counter 2, never uploaded
    world.ingest([offline.sell(card)], terminal=offline)  # counter 3 arrives
    for terminal, expected in (
        (world.terminal, [{"card_number": card.number, "counters": [2]}]),
        (offline, [{"card_number": card.number, "counters": [2]}]),
        (stranger, []),
    ):
        answer = api(terminal, "GET", UPDATES)
        assert answer.status_code == 200, answer.text
        assert answer.json()["wanted"] == expected
    status = api(stranger, "GET", f"/v1/cards/{card.number}")  # presented at the stranger
    assert status.status_code == 200, status.text
    assert status.json()["wanted_counters"] == [2] and status.json()["pending_loads"] == []
    assert api(stranger, "GET", UPDATES).json()["wanted"] != []  # now it served the card
    assert api(stranger, "GET", "/v1/cards/6060019999999999").status_code == 404
    assert api(stranger, "GET", "/v1/cards/123").status_code == 422


def test_pending_loads_go_only_to_terminals_that_served_the_card(api: Api) -> None:
    world = api.world
    card, stranger = world.funded_card(), world.enroll()
    authorization = world.authorize(card, 50_000)
    mine = api(world.terminal, "GET", UPDATES).json()["loads"]
    assert [p["load_seq"] for p in mine["pending"]] == [2]
    theirs = api(stranger, "GET", UPDATES).json()["loads"]
    assert theirs["pending"] == [] and theirs["applied"] == []
    # Presented there: the answer carries the load, and the next download brings it too,
    # although the stranger already holds a loads version past it.
    status = api(stranger, "GET", f"/v1/cards/{card.number}").json()
    assert [b64decode(a) for a in status["pending_loads"]] == [authorization.encode()]
    held = theirs["version"]
    later = api(stranger, "GET", f"/v1/updates?loads={held}").json()["loads"]
    assert [p["load_seq"] for p in later["pending"]] == [2] and later["version"] > held
    assert (
        api(stranger, "GET", f"/v1/updates?loads={later['version']}").json()["loads"]["pending"]
        == []
    )


def test_stuck_intents_are_answered_with_the_card_message_the_host_holds(api: Api) -> None:
    world = api.world
    card = world.funded_card()
    elsewhere = world.enroll()
    sale = elsewhere.sell(card)  # counter 2, the counter our torn intent expected
    world.ingest([sale], terminal=elsewhere)
    intent = {
        "intent_id": str(uuid.uuid4()),
        "card_number": card.number,
        "kind": "sale",
        "nonce": b64encode(bytes(16)),
        "expected_counter": 2,
        "amounts": {"APBD": 70_000},
    }
    answer = api(world.terminal, "POST", "/v1/intents", {"intents": [intent]})
    assert answer.status_code == 200, answer.text
    assert [r["result"] for r in answer.json()["results"]] == ["stored"]
    again = api(world.terminal, "POST", "/v1/intents", {"intents": [intent]}).json()
    assert [r["result"] for r in again["results"]] == ["known"]
    other = {**intent, "expected_counter": 3}
    clash = api(world.terminal, "POST", "/v1/intents", {"intents": [other]}).json()
    assert [(r["result"], r["code"]) for r in clash["results"]] == [("refused", "intent_conflict")]
    [resolution] = api(world.terminal, "GET", UPDATES).json()["resolutions"]
    assert resolution["intent_id"] == intent["intent_id"] and not resolution["settled_at_host"]
    assert b64decode(resolution["card_message"]) == SaleBody.from_value(sale.body).card_proof
    assert api(elsewhere, "GET", UPDATES).json()["resolutions"] == []
    closed = api(world.terminal, "POST", "/v1/intents", {"closed": [intent["intent_id"]]})
    assert closed.status_code == 200
    assert api(world.terminal, "GET", UPDATES).json()["resolutions"] == []
    bad = api(world.terminal, "POST", "/v1/intents", {"intents": [{**intent, "kind": "x"}]})
    assert bad.status_code == 422


def test_a_card_assigned_to_a_shop_has_its_loads_at_that_shop_offline(api: Api) -> None:
    world = api.world
    card = world.card()
    world.authorize(card, 200_000)
    assert api(world.terminal, "GET", UPDATES).json()["loads"]["pending"] == []
    with transaction(world.gateway.factory) as session:
        assert distribution.assign_card(session, card.number, world.shop_id) == [
            world.terminal.terminal_id
        ]
        with pytest.raises(GatewayError):
            distribution.assign_card(session, card.number, "S9999")
    pending = api(world.terminal, "GET", UPDATES).json()["loads"]["pending"]
    assert [p["card_number"] for p in pending] == [card.number]


def test_a_card_presented_online_shows_the_host_a_debit_no_record_brought(api: Api) -> None:
    """A terminal hides a sale (never uploads it); the card is next presented online only for
    its balance (its counter does not move). The lookup carries the counter the card shows: the
    host asks for those above the last it holds, and the card's log brings the debit into
    suspense, flagged, before the card's next transaction."""
    world = api.world
    card = world.funded_card()  # counter 1: the load, at the host
    hider, honest = world.enroll(), world.enroll()
    hidden = hider.sell(card)  # counter 2, never uploaded
    path = f"/v1/cards/{card.number}"
    assert api(honest, "GET", path).json()["wanted_counters"] == []  # no counter: nothing seen
    told = api(honest, "GET", f"{path}?counter={card.counter}")
    assert told.status_code == 200, told.text
    assert told.json()["wanted_counters"] == [2]
    assert api(honest, "GET", f"{path}?counter=1").json()["wanted_counters"] == []
    proof = SaleBody.from_value(hidden.body).card_proof
    sent = api(honest, "POST", "/v1/evidence", {"messages": [b64encode(proof)]})
    assert [r["code"] for r in sent.json()["results"]] == ["debit_unrecorded"]
    assert api(honest, "GET", f"{path}?counter=2").json()["wanted_counters"] == []
    for bad in ("-1", "4294967296", "x"):
        assert api(honest, "GET", f"{path}?counter={bad}").status_code == 422
