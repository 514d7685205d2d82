"""Terminal enrollment with one-time codes, and revocation.

The operator makes a code for a shop; the terminal sends it with its new public key and a proof
that it holds the private key; the CA certifies the key for a new terminal id. Only the code's
hash is stored. A retried enrollment (same code, same key: the response was lost) returns the same
certificate again; any other reuse of a code is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import counters
from host_gateway.errors import GatewayError, not_found
from host_gateway.models import EnrollmentCode, Shop, Terminal
from host_gateway.pki import IssuerKeys
from ledger.crypto import PUBLIC_KEY_SIZE, is_public_key
from ledger.request_auth import verify_enrollment_proof

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I/L: codes are read aloud and typed on a terminal."""
CODE_LENGTH = 12
CERTIFICATE_DAYS = 730
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def normalize_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def _code_hash(code: str) -> bytes:
    return hashlib.sha256(normalize_code(code).encode("utf-8")).digest()


def create_code(session: Session, shop_id: str, now: int, valid_days: int = 7) -> str:
    if session.get(Shop, shop_id) is None:
        raise not_found(f"shop {shop_id}")
    if not 1 <= valid_days <= 90:
        raise GatewayError("invalid", "a code is valid for 1 to 90 days")
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(
        EnrollmentCode(
            code_hash=_code_hash(raw),
            shop_id=shop_id,
            created=now,
            expires=now + valid_days * 86_400,
        )
    )
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def terminal_id_for(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
    if len(digits) > 4:
        raise GatewayError("exhausted", "no terminal ids left", 500)
    return "SMD-" + digits.rjust(4, "0")


@dataclass(frozen=True)
class Enrollment:
    terminal: Terminal
    shop: Shop


def enroll(
    session: Session, keys: IssuerKeys, code: str, public_key: bytes, proof: bytes, now: int
) -> Enrollment:
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise GatewayError("invalid", "public_key must be a 32-byte Ed25519 key")
    if not is_public_key(public_key):
        raise GatewayError("invalid", "public_key is not a usable Ed25519 key")
    row = session.get(EnrollmentCode, _code_hash(code), with_for_update=True)
    if row is None:
        raise GatewayError("enrollment_code_invalid", "unknown enrollment code", 403)
    if not verify_enrollment_proof(public_key, code, proof):
        raise GatewayError("enrollment_proof", "proof of key possession does not verify", 403)
    if row.used_at is not None:
        terminal = session.get(Terminal, row.terminal_id) if row.terminal_id else None
        if terminal is not None and terminal.public_key == public_key:
            return Enrollment(terminal, session.get_one(Shop, terminal.shop_id))
        raise GatewayError("enrollment_code_used", "this enrollment code was already used", 403)
    if now > row.expires:
        raise GatewayError("enrollment_code_expired", "this enrollment code has expired", 403)
    if session.scalar(select(Terminal.id).where(Terminal.public_key == public_key)):
        raise GatewayError("key_already_enrolled", "this key belongs to another terminal", 409)
    terminal_id = terminal_id_for(counters.next_value(session, counters.TERMINAL_NUMBER))
    serial = counters.next_value(session, counters.CERTIFICATE_SERIAL)
    certificate = keys.terminal_certificate(
        terminal_id, row.shop_id, public_key, now, CERTIFICATE_DAYS, serial
    )
    terminal = Terminal(
        id=terminal_id,
        shop_id=row.shop_id,
        public_key=public_key,
        certificate=certificate.encode(),
        issued=certificate.issued,
        valid_until=certificate.valid_until,
        contiguous_seq=0,
    )
    session.add(terminal)
    row.used_at, row.terminal_id = now, terminal_id
    session.flush()
    return Enrollment(terminal, session.get_one(Shop, row.shop_id))


def revoke(session: Session, terminal_id: str, reason: str, now: int) -> Terminal:
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise not_found(f"terminal {terminal_id}")
    if terminal.revoked_at is None:
        terminal.revoked_at, terminal.revoke_reason = now, reason or "revoked by operator"
    return terminal


def list_terminals(session: Session) -> list[Terminal]:
    return list(session.scalars(select(Terminal).order_by(Terminal.id)))
