"""The gateway as a terminal meets it: a real uvicorn process over real HTTP, on SQLite and on
the real PostgreSQL server."""

from __future__ import annotations

import time

import httpx

from host_gateway.db import transaction
from host_gateway.enrollment import revoke
from ledger.crypto import SigningKey
from ledger.request_auth import HEADER_HOST_TIME, b64decode, b64encode, enrollment_proof
from ledger.terminal_cert import TerminalCertificate
from ledger.wire import IngestResponse
from tests.fixtures.gateway import Served, now_sale


def test_enroll_over_http(served: Served) -> None:
    world, base = served.world, served.server.base_url
    key, code = SigningKey.generate(), served.world.enrollment_code()
    body = {
        "code": code,
        "public_key": b64encode(key.public_key),
        "proof": b64encode(enrollment_proof(key, code)),
    }
    response = httpx.post(f"{base}/v1/enroll", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    ca_keys = {
        bytes.fromhex(k["key_id"]): b64decode(k["public_key"]) for k in answer["anchors"]["ca"]
    }
    certificate = TerminalCertificate.decode_verified(b64decode(answer["certificate"]), ca_keys)
    assert certificate.terminal_id == answer["terminal_id"] == "SMD-0002"
    assert answer["shop"]["id"] == world.shop_id and answer["config"]
    again = httpx.post(f"{base}/v1/enroll", json={**body})
    assert again.json()["certificate"] == answer["certificate"]
    wrong = httpx.post(f"{base}/v1/enroll", json={**body, "code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "enrollment_code_invalid"


def test_upload_retry_and_updates_over_http(served: Served) -> None:
    world = served.world
    card = world.funded_card()
    client = served.client()
    sales = [now_sale(world, world.terminal, card) for _ in range(5)]
    first = client.upload(sales)
    assert first.status_code == 200, first.text
    IngestResponse.model_validate(first.json())  # the body is built by hand, not by the model
    assert first.json()["accepted"] == 5 and first.json()["contiguous_seq"] == 6
    assert abs(int(first.headers[HEADER_HOST_TIME]) - time.time()) < 60
    again = client.upload(sales).json()
    assert (again["accepted"], again["duplicates"]) == (5, 5)
    updates = client.request("GET", "/v1/updates?catalog=0&config=0&hotlist=0&loads=0&seq=6")
    assert updates.status_code == 200, updates.text
    assert updates.json()["catalog"]["version"] == 1
    status = client.request("GET", "/v1/terminal").json()
    assert status["contiguous_seq"] == 6
    client.close()


def test_unsigned_tampered_and_revoked_requests_are_refused(served: Served) -> None:
    world, base = served.world, served.server.base_url
    unsigned = httpx.get(f"{base}/v1/terminal")
    assert unsigned.status_code == 401
    error = unsigned.json()["error"]
    assert error["code"] == "unauthenticated" and "missing headers" in error["message"]
    assert abs(error["host_time"] - time.time()) < 60
    client = served.client()
    signed = client.request("GET", "/v1/terminal")
    tampered = httpx.get(f"{base}/v1/terminal?x=1", headers=dict(signed.request.headers))
    assert tampered.status_code == 401
    with transaction(world.gateway.factory) as session:
        revoke(session, world.terminal.terminal_id, "stolen", int(time.time()))
    refused = client.request("GET", "/v1/terminal")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "terminal_revoked"
    client.close()
