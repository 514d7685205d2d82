"""Authenticating a terminal's signed request (see ledger.request_auth for the format).

Authenticate first, then say more. Checks, in order: headers well-formed, clock within the replay
window (the error tells the terminal the host time and its skew), signature over method + path +
body hash under the key of the terminal it names. A terminal that is not enrolled gets the very
answer a bad signature gets, so a stranger learns nothing about which ids exist. Only a request
the terminal's own key signed is told that the terminal is revoked (with the operator's reason)
or its certificate expired, and only then is its nonce spent: the one write, so refusals never
take the database's write lock (they are counted in memory, host_gateway.events).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host_gateway.db import read_transaction, transaction
from host_gateway.errors import GatewayError
from host_gateway.events import EventRow, record_events
from host_gateway.gateway import Gateway
from host_gateway.ingest import TerminalContext
from host_gateway.ingest.verification import TerminalKey
from host_gateway.models import RequestNonce, Terminal
from ledger.request_auth import REPLAY_WINDOW, RequestAuthError, parse_headers

SKEW_FLAG = 60
"""A terminal clock this many seconds off is flagged (it still works up to REPLAY_WINDOW)."""

_DECOY_KEY = bytes.fromhex("fc4035baeb7ffd048ef763ac03fca8eb929c93fe54198a1228256b0cd2d6cb68")
"""A key no request is signed with: an id that is not enrolled costs one verification too."""

NOT_AUTHENTICATED = "request signature does not verify"


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class _Enrolled:
    key: TerminalKey
    shop_id: str
    revoked: str | None
    """The operator's reason when revoked."""


def authenticate(gateway: Gateway, request: SignedRequest) -> TerminalContext:
    """The terminal that signed ``request``, or GatewayError 401/403 (counted in memory)."""
    try:
        return _authenticate(gateway, request, gateway.clock())
    except GatewayError as exc:
        gateway.refusals.add(exc.code, exc.message)
        raise


def _authenticate(gateway: Gateway, request: SignedRequest, now: int) -> TerminalContext:
    try:
        claim = parse_headers(request.headers)
        claim.check_time(now)
    except RequestAuthError as exc:
        raise GatewayError(exc.code, exc.message, 401) from exc
    enrolled = _enrolled(gateway, claim.terminal_id)
    public_key = _DECOY_KEY if enrolled is None else enrolled.key.public_key
    if not claim.verify(public_key, request.method, request.path, request.body) or not enrolled:
        raise GatewayError("bad_signature", NOT_AUTHENTICATED, 401)
    if enrolled.revoked is not None:
        raise GatewayError(
            "terminal_revoked", f"terminal {claim.terminal_id} is revoked: {enrolled.revoked}", 403
        )
    if not enrolled.key.issued - REPLAY_WINDOW <= now <= enrolled.key.valid_until:
        raise GatewayError("certificate_expired", "terminal certificate is not valid now", 403)
    with transaction(gateway.factory) as session:
        _use_nonce(session, claim.terminal_id, claim.nonce, now)
        terminal = session.get_one(Terminal, claim.terminal_id)
        skew = claim.skew(now)
        flagged = abs(skew) > SKEW_FLAG and abs(terminal.last_skew or 0) <= SKEW_FLAG
        terminal.last_seen, terminal.last_skew = now, skew
        if flagged:
            record_events(
                session,
                now,
                [EventRow("clock_skew", f"terminal clock is {skew:+d} s off", terminal.id)],
            )
    return TerminalContext(enrolled.key, enrolled.shop_id)


def _enrolled(gateway: Gateway, terminal_id: str) -> _Enrolled | None:
    """The terminal as the host holds it, read without waiting for any writer."""
    with read_transaction(gateway.factory) as session:
        row = session.get(Terminal, terminal_id)
        if row is None:
            return None
        revoked = None if row.revoked_at is None else (row.revoke_reason or "")
        key = TerminalKey(row.id, row.public_key, row.issued, row.valid_until)
        return _Enrolled(key, row.shop_id, revoked)


def _use_nonce(session: Session, terminal_id: str, nonce: bytes, now: int) -> None:
    try:
        with session.begin_nested():
            session.add(RequestNonce(terminal_id=terminal_id, nonce=nonce, seen=now))
    except IntegrityError as exc:
        raise GatewayError("replayed_request", "this request was already received", 401) from exc
    if now % 16 == 0:
        session.execute(delete(RequestNonce).where(RequestNonce.seen < now - 2 * REPLAY_WINDOW))
