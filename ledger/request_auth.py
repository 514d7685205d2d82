"""Signed HTTP requests from a terminal to the host, shared by the sync client and the gateway.

Every request after enrollment carries four headers::

    SSN-Terminal:  SMD-0001                      (the certified terminal id)
    SSN-Time:      1795000000                    (unix seconds, the terminal's clock)
    SSN-Nonce:     32 hex digits                 (16 random bytes, never reused)
    SSN-Signature: base64url, no padding         (Ed25519, Domain.TERMINAL_REQUEST)

The signature covers the canonical CBOR of ``{"method", "path", "body", "time", "nonce",
"terminal"}`` where ``path`` is the path with its query string exactly as sent and ``body`` is the
SHA-256 of the raw body bytes. The host accepts a request only if the signature verifies with the
terminal's certified key, ``time`` is within :data:`REPLAY_WINDOW` of its own clock and the nonce
was not seen inside that window. docs/api.md says why this instead of mutual TLS.

Enrollment has no certificate yet: the terminal proves it holds the private key by signing the
one-time code and its public key (:func:`enrollment_proof`).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ledger import canonical
from ledger.binary import FormatError
from ledger.cardproofs import check_terminal_id
from ledger.crypto import SIGNATURE_SIZE, Domain, SigningKey, sha256, verify

REPLAY_WINDOW = 300
"""Seconds a signed request stays valid either side of the host's clock."""
NONCE_SIZE = 16

HEADER_TERMINAL = "SSN-Terminal"
HEADER_TIME = "SSN-Time"
HEADER_NONCE = "SSN-Nonce"
HEADER_SIGNATURE = "SSN-Signature"
HEADER_HOST_TIME = "SSN-Host-Time"
"""Sent back on every response so a terminal can measure its clock skew."""


class RequestAuthError(Exception):
    """A request that is not authenticated; ``code`` is stable for counting and clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict base64url (padding optional); raises :class:`FormatError`."""
    if not isinstance(text, str) or not text.isascii():
        raise FormatError("expected base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"not base64url: {exc}") from exc


def _message(
    method: str, path: str, body: bytes, time: int, nonce: bytes, terminal_id: str
) -> bytes:
    return canonical.encode(
        {
            "method": method.upper(),
            "path": path,
            "body": sha256(body),
            "time": time,
            "nonce": nonce,
            "terminal": terminal_id,
        }
    )


def sign_request(
    key: SigningKey,
    terminal_id: str,
    method: str,
    path: str,
    body: bytes,
    time: int,
    nonce: bytes | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request; ``path`` includes the query string."""
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    signature = key.sign(
        Domain.TERMINAL_REQUEST, _message(method, path, body, time, nonce, terminal_id)
    )
    return {
        HEADER_TERMINAL: terminal_id,
        HEADER_TIME: str(time),
        HEADER_NONCE: nonce.hex(),
        HEADER_SIGNATURE: b64encode(signature),
    }


@dataclass(frozen=True)
class RequestClaim:
    """What the headers claim; nothing is trusted until :meth:`verify` and the time check pass."""

    terminal_id: str
    time: int
    nonce: bytes
    signature: bytes

    def verify(self, public_key: bytes, method: str, path: str, body: bytes) -> bool:
        message = _message(method, path, body, self.time, self.nonce, self.terminal_id)
        return verify(public_key, Domain.TERMINAL_REQUEST, message, self.signature)

    def skew(self, host_time: int) -> int:
        """Terminal clock minus host clock, in seconds."""
        return self.time - host_time

    def check_time(self, host_time: int, window: int = REPLAY_WINDOW) -> None:
        skew = self.skew(host_time)
        if abs(skew) > window:
            raise RequestAuthError(
                "clock_skew",
                f"terminal clock is {skew:+d} s from host time {host_time}; "
                f"allowed ±{window} s: set the clock and retry",
            )


def parse_headers(headers: Mapping[str, str]) -> RequestClaim:
    """Read the four headers strictly; raises :class:`RequestAuthError` ``unauthenticated``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    names = (HEADER_TERMINAL, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE)
    missing = [name for name in names if name.lower() not in lowered]
    if missing:
        raise RequestAuthError("unauthenticated", f"missing headers {missing}")
    terminal, time_text, nonce_text, signature_text = (lowered[n.lower()] for n in names)
    try:
        terminal_id = check_terminal_id(terminal)
        if not (time_text.isascii() and time_text.isdigit() and len(time_text) <= 12):
            raise FormatError(f"{HEADER_TIME} must be unix seconds")
        if len(nonce_text) != 2 * NONCE_SIZE:
            raise FormatError(f"{HEADER_NONCE} must be {2 * NONCE_SIZE} hex digits")
        nonce = bytes.fromhex(nonce_text)
        signature = b64decode(signature_text)
        if len(signature) != SIGNATURE_SIZE:
            raise FormatError(f"{HEADER_SIGNATURE} must hold 64 bytes")
    except (FormatError, ValueError) as exc:
        raise RequestAuthError("unauthenticated", str(exc)) from exc
    return RequestClaim(terminal_id, int(time_text), nonce, signature)


def _enrollment_message(code: str, public_key: bytes) -> bytes:
    return canonical.encode({"enroll": code, "key": public_key})


def enrollment_proof(key: SigningKey, code: str) -> bytes:
    """The terminal's proof that it holds the private key it asks a certificate for."""
    return key.sign(Domain.TERMINAL_REQUEST, _enrollment_message(code, key.public_key))


def verify_enrollment_proof(public_key: bytes, code: str, proof: bytes) -> bool:
    return verify(public_key, Domain.TERMINAL_REQUEST, _enrollment_message(code, public_key), proof)
