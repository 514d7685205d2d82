"""What a stranger and a busy database get from the gateway app (issue 20, hardening).

Driven in-process (Starlette's test client) on SQLite, with the write lock held by another
connection where that matters: a request that still needed it would wait and fail.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.types import Message

from demo.seed import Layout
from host_gateway import events
from host_gateway.api.app import create_app
from host_gateway.api.limits import ClientLimits
from host_gateway.db import transaction
from host_gateway.enrollment import revoke
from host_gateway.gateway import Gateway
from host_gateway.models import Event
from ledger.crypto import SigningKey
from ledger.request_auth import b64encode, enrollment_proof, sign_request
from tests.fixtures.gateway import PASSPHRASE, World


@pytest.fixture
def quick(sqlite_world: World) -> Iterator[Gateway]:
    """The world's database behind a gateway that waits at most 0.3 s for the write lock."""
    world = sqlite_world
    gateway = Gateway.open(
        str(world.gateway.engine.url),
        PASSPHRASE,
        workers=0,
        clock=world.gateway.clock,
        run_migrations=False,
        busy_timeout=0.3,
    )
    yield gateway
    gateway.close()


@contextmanager
def write_lock_held(world: World) -> Iterator[None]:
    """Another connection holds SQLite's write lock (as a long ingest would)."""
    database = world.gateway.engine.url.database
    assert database is not None
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def signed(
    world: World, key: SigningKey, terminal_id: str, method: str, path: str, payload: Any = None
) -> dict[str, Any]:
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = sign_request(key, terminal_id, method, path, body, world.now)
    headers["content-type"] = "application/json"
    return {"method": method, "url": path, "content": body, "headers": headers}


def event_rows(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def test_a_refusal_flood_takes_no_write_lock_and_files_nothing_under_a_claimed_id(
    sqlite_world: World, quick: Gateway
) -> None:
    world, stranger = sqlite_world, SigningKey.generate()
    client = TestClient(create_app(quick))
    before = event_rows(world)
    real = world.terminal.terminal_id
    with write_lock_held(world):
        answers = [client.get("/v1/terminal") for _ in range(50)]  # unsigned
        answers += [
            client.request(**signed(world, stranger, real, "POST", "/v1/records", {"x": n}))
            for n in range(50)  # forged: a foreign key claiming the real terminal
        ]
        answers += [client.get("/v1/health")]
    assert [a.status_code for a in answers] == [401] * 100 + [200]
    assert event_rows(world) == before  # nothing written, one row per refusal or otherwise
    assert quick.refusals.counts() == {"unauthenticated": 50, "bad_signature": 50}
    assert quick.refusals.flush(quick.factory, world.now) == 100
    with transaction(world.gateway.factory) as session:
        counted = events.counts(session)
        summaries = session.scalars(select(Event).where(Event.id > before)).all()
    assert counted["unauthenticated"] == 50 and counted["bad_signature"] == 50
    assert len(summaries) == 2  # one per code
    assert all(row.terminal_id is None for row in summaries)  # not filed under the real id
    assert quick.refusals.flush(quick.factory, world.now) == 0  # counted once


def test_old_refusal_summaries_are_pruned_and_money_flags_kept(sqlite_world: World) -> None:
    world = sqlite_world
    old = world.now - (events.REFUSALS_KEPT_DAYS + 1) * 86400
    with transaction(world.gateway.factory) as session:
        events.record_events(
            session,
            old,
            [events.EventRow("bad_signature", "old flood"), events.EventRow("card_cloned", "x")],
        )
    world.gateway.refusals.add("unauthenticated", "missing headers")
    world.gateway.refusals.flush(world.gateway.factory, world.now)
    with transaction(world.gateway.factory) as session:
        codes = set(session.scalars(select(Event.code).where(Event.at == old)))
    assert codes == {"card_cloned"}


def test_the_revoked_terminal_probe_with_a_foreign_key_learns_nothing(
    sqlite_world: World,
) -> None:
    world, stranger = sqlite_world, SigningKey.generate()
    victim = world.terminal.terminal_id
    with transaction(world.gateway.factory) as session:
        revoke(session, victim, "stolen from shop", world.now)
    client = TestClient(create_app(world.gateway))
    probe = client.request(**signed(world, stranger, victim, "GET", "/v1/terminal"))
    nobody = client.request(**signed(world, stranger, "SMD-9999", "GET", "/v1/terminal"))
    assert probe.status_code == nobody.status_code == 401
    assert probe.json()["error"] == nobody.json()["error"]  # exists or not: the same answer
    assert "stolen" not in probe.text and "revoked" not in probe.text
    own = client.request(**signed(world, world.terminal.key, victim, "GET", "/v1/terminal"))
    assert own.status_code == 403  # its own key signed: it is told, with the reason
    assert own.json()["error"]["code"] == "terminal_revoked" and "stolen" in own.text


def test_a_strangers_schema_errors_are_never_judged(sqlite_world: World) -> None:
    world, stranger = sqlite_world, SigningKey.generate()
    client = TestClient(create_app(world.gateway))
    bad_query = signed(world, stranger, world.terminal.terminal_id, "GET", "/v1/updates?seq=x")
    assert client.request(**bad_query).status_code == 401
    assert client.get("/v1/cards/not-a-number").status_code == 401
    bad_shape = signed(world, stranger, "SMD-0001", "POST", "/v1/records", {"records": 7})
    assert client.request(**bad_shape).status_code == 401
    own = signed(world, world.terminal.key, world.terminal.terminal_id, "GET", "/v1/updates?seq=x")
    assert client.request(**own).status_code == 422  # authenticated: now it is told


def test_a_busy_database_answers_503_with_retry_after_and_reads_go_on(
    sqlite_world: World, quick: Gateway
) -> None:
    world = sqlite_world
    client = TestClient(create_app(quick))
    terminal = world.terminal
    with write_lock_held(world):
        health = client.get("/v1/health")
        busy = client.request(
            **signed(world, terminal.key, terminal.terminal_id, "GET", "/v1/terminal")
        )
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "5"
    assert busy.json()["error"]["code"] == "busy"
    again = client.request(
        **signed(world, terminal.key, terminal.terminal_id, "GET", "/v1/terminal")
    )
    assert again.status_code == 200  # the nonce of the refused request was not spent either


def test_one_undecodable_record_is_refused_alone(sqlite_world: World) -> None:
    world = sqlite_world
    card = world.funded_card()
    sale = world.terminal.sell(card)
    records = [
        {"id": "0193a000-0000-7000-8000-000000000001", "data": "A"},  # not base64
        {"id": str(sale.id), "data": b64encode(sale.encode())},
    ]
    t = world.terminal
    client = TestClient(create_app(world.gateway))
    answer = client.request(
        **signed(world, t.key, t.terminal_id, "POST", "/v1/records", {"records": records})
    )
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["results"]
    assert (first["status"], first["code"], first["stored"]) == ("rejected", "malformed", False)
    assert first["id"] == records[0]["id"]
    assert (second["status"], second["stored"]) == ("accepted", True)
    assert answer.json()["accepted"] == 1 and answer.json()["rejected"] == 1
    alone = client.request(
        **signed(world, t.key, t.terminal_id, "POST", "/v1/records", {"records": records[:1]})
    )
    assert alone.status_code == 200 and alone.json()["rejected"] == 1, alone.text


def test_contract_headers_allow_docs_and_enrollment_errors(sqlite_world: World) -> None:
    world = sqlite_world
    client = TestClient(create_app(world.gateway))
    wrong_method = client.delete("/v1/time")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET"
    for answer in (wrong_method, client.get("/v1/time"), client.get("/v1/terminal")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
    assert client.get("/docs").status_code == 404  # its page loads scripts from a public CDN
    assert client.get("/redoc").status_code == 404
    key, code = SigningKey.generate(), world.enrollment_code()
    neutral = bytes([1]) + bytes(31)  # the neutral point: a small-order key
    body = {
        "code": code,
        "public_key": b64encode(neutral),
        "proof": b64encode(enrollment_proof(key, code)),
    }
    refused = client.post("/v1/enroll", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_request"


def test_openapi_links_lead_from_answers_to_next_requests(sqlite_world: World) -> None:
    document = TestClient(create_app(sqlite_world.gateway)).get("/openapi.json").json()
    operations = {
        op["operationId"]: op
        for path in document["paths"].values()
        for op in path.values()
        if "operationId" in op
    }
    links = {
        name: link
        for op in operations.values()
        for name, link in op["responses"]["200"].get("links", {}).items()
    }
    assert {"GetUpdates", "GetWantedCard", "GetCard", "GetTerminal"} <= set(links)
    assert all(link["operationId"] in operations for link in links.values())
    records = operations["uploadRecords"]["responses"]
    assert records["200"]["links"]["GetUpdates"]["parameters"] == {
        "seq": "$response.body#/last_seq"
    }
    assert "application/json" in records["200"]["content"]  # the link kept the answer's schema
    assert {"401", "503"} <= set(records)


def test_the_seed_names_the_database_the_gateway_really_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout(tmp_path)
    monkeypatch.delenv("SSN_GATEWAY_DB", raising=False)
    assert layout.database.startswith("sqlite:///")
    monkeypatch.setenv("SSN_GATEWAY_DB", "postgresql+psycopg://ssn:rahasia@db.local/ssn")
    assert layout.database == "postgresql+psycopg://ssn:***@db.local/ssn"


def test_refusals_counted_in_memory_reach_the_events_when_the_app_stops(
    sqlite_world: World,
) -> None:
    world = sqlite_world
    with TestClient(create_app(world.gateway)) as client:  # runs the app's lifespan
        assert client.get("/v1/terminal").status_code == 401
    with transaction(world.gateway.factory) as session:
        assert events.counts(session).get("unauthenticated") == 1


def test_past_the_pending_cap_a_request_is_refused_unread_with_503(sqlite_world: World) -> None:
    world = sqlite_world
    app = create_app(world.gateway, ClientLimits(max_pending=1))

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/enroll",
            "raw_path": b"/v1/enroll",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }

    async def run() -> list[Message]:
        stalled = asyncio.Event()

        async def never() -> Message:  # a body that does not come
            await stalled.wait()
            return {"type": "http.disconnect"}

        async def empty() -> Message:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        first = asyncio.create_task(app(scope(), never, lambda _m: asyncio.sleep(0)))
        await asyncio.sleep(0.05)
        await app(scope(), empty, send)
        stalled.set()
        await first
        return sent

    start, *body = asyncio.run(run())
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 503 and headers["retry-after"] == "5"
    assert headers["connection"] == "close"
    assert json.loads(b"".join(m.get("body", b"") for m in body))["error"]["code"] == "busy"
