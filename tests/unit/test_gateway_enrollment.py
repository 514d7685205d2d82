"""Enrollment, terminal certificates and signed requests."""

from __future__ import annotations

import dataclasses

import pytest

from host_gateway import enrollment
from host_gateway.api.auth import SignedRequest, authenticate
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.gateway import Gateway
from ledger.binary import FormatError
from ledger.crypto import SigningKey
from ledger.request_auth import (
    REPLAY_WINDOW,
    RequestAuthError,
    enrollment_proof,
    parse_headers,
    sign_request,
)
from ledger.terminal_cert import CertificateError, TerminalCertificate
from tests.factories import T0
from tests.fixtures.gateway import FakeClock, World


def _enroll(world: World, code: str, key: SigningKey) -> enrollment.Enrollment:
    with transaction(world.gateway.factory) as session:
        return enrollment.enroll(
            session,
            world.gateway.keys,
            code,
            key.public_key,
            enrollment_proof(key, code),
            world.now,
        )


def test_enrollment_certifies_the_key_for_the_shop(world: World) -> None:
    key, code = SigningKey.generate(), world.enrollment_code()
    done = _enroll(world, code, key)
    certificate = TerminalCertificate.decode_verified(
        done.terminal.certificate, world.gateway.keys.anchors.ca_keys
    )
    assert certificate.public_key == key.public_key
    assert certificate.shop_id == world.shop_id == done.shop.id
    assert certificate.terminal_id == done.terminal.id == "SMD-0002"
    assert certificate.valid_at(world.now)


def test_retried_enrollment_returns_the_same_certificate(world: World) -> None:
    key, code = SigningKey.generate(), world.enrollment_code()
    first = _enroll(world, code, key)
    again = _enroll(world, code, key)
    assert again.terminal.certificate == first.terminal.certificate
    with pytest.raises(GatewayError) as used:
        _enroll(world, code, SigningKey.generate())
    assert used.value.code == "enrollment_code_used"


def test_refused_enrollments(world: World, clock: FakeClock) -> None:
    key = SigningKey.generate()
    with pytest.raises(GatewayError) as unknown:
        _enroll(world, "AAAA-BBBB-CCCC", key)
    assert unknown.value.code == "enrollment_code_invalid"
    code = world.enrollment_code()
    with transaction(world.gateway.factory) as session, pytest.raises(GatewayError) as bad:
        enrollment.enroll(
            session,
            world.gateway.keys,
            code,
            key.public_key,
            enrollment_proof(SigningKey.generate(), code),
            world.now,
        )
    assert bad.value.code == "enrollment_proof"
    # The neutral point: under it one fixed "signature" verifies every message.
    weak = (1).to_bytes(32, "little")
    with transaction(world.gateway.factory) as session, pytest.raises(GatewayError) as bad:
        enrollment.enroll(session, world.gateway.keys, code, weak, weak + bytes(32), world.now)
    assert "not a usable Ed25519 key" in bad.value.message
    clock.now += 8 * 86_400
    with pytest.raises(GatewayError) as expired:
        _enroll(world, code, key)
    assert expired.value.code == "enrollment_code_expired"


def test_terminal_certificate_refuses_tampering(world: World) -> None:
    raw = world.context().key
    certificate = TerminalCertificate(
        "SMD-0009", "S0001", raw.public_key, T0, T0 + 10, 9, world.gateway.keys.ca.key_id
    ).signed_by(world.gateway.keys.ca)
    anchors = world.gateway.keys.anchors.ca_keys
    assert TerminalCertificate.decode_verified(certificate.encode(), anchors) == certificate
    moved = dataclasses.replace(certificate, shop_id="S0002")
    with pytest.raises(CertificateError):
        TerminalCertificate.decode_verified(moved.encode(), anchors)
    with pytest.raises(FormatError):
        TerminalCertificate.decode(certificate.encode()[:-1])


def _request(
    world: World, path: str = "/v1/terminal", body: bytes = b"", **kw: int
) -> SignedRequest:
    time = kw.get("time", world.now)
    headers = sign_request(world.terminal.key, world.terminal.terminal_id, "GET", path, body, time)
    return SignedRequest("GET", path, body, headers)


def test_signed_request_is_accepted_once(world: World) -> None:
    request = _request(world)
    context = authenticate(world.gateway, request)
    assert context.key.terminal_id == world.terminal.terminal_id
    with pytest.raises(GatewayError) as replayed:
        authenticate(world.gateway, request)
    assert replayed.value.code == "replayed_request"


def test_signed_request_refusals(sqlite_world: World) -> None:
    world = sqlite_world
    tampered = _request(world)
    tampered = dataclasses.replace(tampered, path="/v1/updates?loads=0")
    with pytest.raises(GatewayError) as bad:
        authenticate(world.gateway, tampered)
    assert (bad.value.status, bad.value.code) == (401, "bad_signature")
    with pytest.raises(GatewayError) as skew:
        authenticate(world.gateway, _request(world, time=world.now - REPLAY_WINDOW - 1))
    assert skew.value.code == "clock_skew"
    assert "-301 s" in skew.value.message and str(world.now) in skew.value.message
    stranger = SigningKey.generate()
    headers = sign_request(stranger, "SMD-ZZZZ", "GET", "/v1/terminal", b"", world.now)
    with pytest.raises(GatewayError) as unknown:
        authenticate(world.gateway, SignedRequest("GET", "/v1/terminal", b"", headers))
    # A stranger learns nothing about which ids are enrolled: the answer of a bad signature.
    assert (unknown.value.status, unknown.value.code) == (401, "bad_signature")
    assert unknown.value.message == bad.value.message


def test_request_headers_are_parsed_strictly() -> None:
    key = SigningKey.generate()
    headers = sign_request(key, "SMD-0001", "POST", "/v1/records", b"{}", 100)
    claim = parse_headers(headers)
    assert claim.verify(key.public_key, "POST", "/v1/records", b"{}")
    assert not claim.verify(key.public_key, "POST", "/v1/records", b"{ }")
    for name in headers:
        broken = {**headers, name: "x"}
        with pytest.raises(RequestAuthError):
            parse_headers(broken)


def test_gateway_refuses_wrong_passphrase(gateway: Gateway) -> None:
    from host_gateway.pki import PkiError, load_issuer_keys

    with transaction(gateway.factory) as session, pytest.raises(PkiError) as wrong:
        load_issuer_keys(session, b"salah")
    assert "wrong passphrase" in str(wrong.value)
