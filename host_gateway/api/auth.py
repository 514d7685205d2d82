"""Authenticating a terminal's signed request (see ledger.request_auth for the format).

Checks, in order: headers well-formed, clock within the replay window (the error tells the
terminal the host time and its skew), terminal known, not revoked, certificate current, signature
over method + path + body hash, nonce unused. Every refusal is recorded as an event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.events import EventRow, record_events
from host_gateway.gateway import Gateway
from host_gateway.ingest import TerminalContext
from host_gateway.ingest.verification import TerminalKey
from host_gateway.models import RequestNonce, Terminal
from ledger.request_auth import REPLAY_WINDOW, RequestAuthError, parse_headers

SKEW_FLAG = 60
"""A terminal clock this many seconds off is flagged (it still works up to REPLAY_WINDOW)."""


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


def authenticate(gateway: Gateway, request: SignedRequest) -> TerminalContext:
    """The terminal that signed ``request``, or GatewayError 401/403 (recorded as an event)."""
    now = gateway.clock()
    try:
        return _authenticate(gateway, request, now)
    except GatewayError as exc:
        with transaction(gateway.factory) as session:
            terminal = request.headers.get("ssn-terminal")
            record_events(
                session,
                now,
                [EventRow(exc.code, exc.message, terminal[:8] if terminal else None)],
            )
        raise


def _authenticate(gateway: Gateway, request: SignedRequest, now: int) -> TerminalContext:
    try:
        claim = parse_headers(request.headers)
        claim.check_time(now)
    except RequestAuthError as exc:
        raise GatewayError(exc.code, exc.message, 401) from exc
    with transaction(gateway.factory) as session:
        terminal = session.get(Terminal, claim.terminal_id)
        if terminal is None:
            raise GatewayError(
                "unknown_terminal", f"terminal {claim.terminal_id} is not enrolled", 401
            )
        if terminal.revoked_at is not None:
            raise GatewayError(
                "terminal_revoked",
                f"terminal {terminal.id} is revoked: {terminal.revoke_reason}",
                403,
            )
        if not terminal.issued - REPLAY_WINDOW <= now <= terminal.valid_until:
            raise GatewayError("certificate_expired", "terminal certificate is not valid now", 403)
        if not claim.verify(terminal.public_key, request.method, request.path, request.body):
            raise GatewayError("bad_signature", "request signature does not verify", 401)
        _use_nonce(session, claim.terminal_id, claim.nonce, now)
        skew = claim.skew(now)
        flagged = abs(skew) > SKEW_FLAG and abs(terminal.last_skew or 0) <= SKEW_FLAG
        terminal.last_seen, terminal.last_skew = now, skew
        if flagged:
            record_events(
                session,
                now,
                [EventRow("clock_skew", f"terminal clock is {skew:+d} s off", terminal.id)],
            )
        return TerminalContext(
            TerminalKey(terminal.id, terminal.public_key, terminal.issued, terminal.valid_until),
            terminal.shop_id,
        )


def _use_nonce(session: Session, terminal_id: str, nonce: bytes, now: int) -> None:
    try:
        with session.begin_nested():
            session.add(RequestNonce(terminal_id=terminal_id, nonce=nonce, seen=now))
    except IntegrityError as exc:
        raise GatewayError("replayed_request", "this request was already received", 401) from exc
    if now % 16 == 0:
        session.execute(delete(RequestNonce).where(RequestNonce.seen < now - 2 * REPLAY_WINDOW))
