"""Request body limits and unparsable bodies: refused before anything is parsed or stored.

The app is driven at the ASGI level so the test controls how the body arrives (declared length,
chunks with no length) and sees how much of it the host read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.types import Message

from host_gateway import postings
from host_gateway.api.app import create_app
from host_gateway.api.limits import MAX_BODY
from host_gateway.db import transaction
from host_gateway.models import Account, StoredRecord
from ledger.request_auth import HEADER_HOST_TIME, b64encode, sign_request
from tests.factories import RICE_5KG
from tests.fixtures.gateway import World

CHUNK = 64 * 1024


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    read: int
    """Body bytes the host took from the client."""


def post(
    app: FastAPI, path: str, chunks: Iterator[bytes], headers: dict[str, str] | None = None
) -> Answer:
    """POST with the body streamed in ``chunks`` (no Content-Length unless given)."""
    read = 0

    async def receive() -> Message:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    raw = {"content-type": "application/json", **(headers or {})}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in raw.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    headers_out = {k.decode(): v.decode() for k, v in start["headers"]}
    return Answer(start["status"], headers_out, json.loads(body), read)


def too_much() -> Iterator[bytes]:
    """Two chunks more than the limit (bounded, so a host without the limit still answers)."""
    return itertools.repeat(b"A" * CHUNK, MAX_BODY // CHUNK + 2)


def stored_records(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(func.count()).select_from(StoredRecord)) or 0)


def shop_balance(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        code = postings.shop(world.shop_id)
        return int(session.scalar(select(Account.balance).where(Account.code == code)) or 0)


def upload_body(records: list[Any]) -> bytes:
    entries = [{"id": str(r.id), "data": b64encode(r.encode())} for r in records]
    return json.dumps({"records": entries}).encode()


def test_declared_oversized_body_is_refused_unread(sqlite_world: World) -> None:
    world = sqlite_world
    before = stored_records(world)
    declared = {"content-length": str(MAX_BODY + 1)}
    answer = post(create_app(world.gateway), "/v1/records", too_much(), declared)
    assert answer.status == 413 and answer.body["error"]["code"] == "too_large"
    assert answer.body["error"]["host_time"] == world.now
    assert answer.headers[HEADER_HOST_TIME.lower()] == str(world.now)
    assert answer.read == 0
    assert stored_records(world) == before


def test_streamed_oversized_body_is_refused_once_past_the_limit(sqlite_world: World) -> None:
    world = sqlite_world
    before = stored_records(world)
    answer = post(create_app(world.gateway), "/v1/enroll", too_much())  # no Content-Length
    assert answer.status == 413 and answer.body["error"]["code"] == "too_large"
    assert MAX_BODY < answer.read <= MAX_BODY + CHUNK
    assert stored_records(world) == before


def test_streamed_upload_within_the_limit_is_ingested(sqlite_world: World) -> None:
    world = sqlite_world
    card = world.funded_card()
    sale = world.terminal.sell(card)
    body = upload_body([sale])
    t = world.terminal
    headers = sign_request(t.key, t.terminal_id, "POST", "/v1/records", body, world.now)
    chunks = iter([body[i : i + 100] for i in range(0, len(body), 100)])
    answer = post(create_app(world.gateway), "/v1/records", chunks, headers)
    assert answer.status == 200, answer.body
    assert answer.body["accepted"] == 1
    assert shop_balance(world) == -70_000  # the shop is owed the sale


def test_full_batch_of_four_line_sales_is_under_the_limit(sqlite_world: World) -> None:
    world = sqlite_world
    card = world.card()
    card.balances = {"APBD": 1_000_000}
    sale = world.terminal.sell(card, (RICE_5KG,) * 4)
    body = upload_body([sale] * 1000)  # MAX_BATCH records of a basket of four lines
    assert len(body) > 1_500_000
    answer = post(create_app(world.gateway), "/v1/records", iter([body]))
    assert answer.status == 401  # past the size limit: refused only for the missing signature
    assert answer.body["error"]["code"] == "unauthenticated"


def test_body_that_is_not_json_is_bad_request(sqlite_world: World) -> None:
    """Once signed (or on the public enrollment path): a stranger's body is never judged."""
    world = sqlite_world
    before = stored_records(world)
    app = create_app(world.gateway)
    t = world.terminal
    for path in ("/v1/records", "/v1/enroll"):
        for body, status, code in (
            (b'{"records": [', 400, "bad_request"),
            (b'{"records": 1}', 422, "invalid_request"),
        ):
            headers = sign_request(t.key, t.terminal_id, "POST", path, body, world.now)
            answer = post(app, path, iter([body]), headers if path == "/v1/records" else {})
            assert answer.status == status, answer.body
            assert answer.body["error"]["code"] == code
    assert stored_records(world) == before


def test_a_strangers_body_is_not_judged_before_authentication(sqlite_world: World) -> None:
    world = sqlite_world
    app = create_app(world.gateway)
    for body in (b'{"records": [', b'{"records": 1}', b'{"records": []}'):
        answer = post(app, "/v1/records", iter([body]))
        assert answer.status == 401, answer.body
        assert answer.body["error"]["code"] == "unauthenticated"
