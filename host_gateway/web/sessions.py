"""Server-side console sessions: a random token in an HttpOnly cookie, its SHA-256 in the
database, an absolute lifetime and an idle timeout, and a CSRF token per session.

Server-side (not a signed cookie) so that signing out, disabling a user or an expiry ends the
session at once, and no secret key has to be shared between gateway processes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from host_gateway.web.models import ConsoleSession, ConsoleUser

LIFETIME_SECONDS = 10 * 3600
"""A working day; then sign in again."""
IDLE_SECONDS = 30 * 60
"""An office PC left alone for half an hour is signed out."""
_TOUCH_EVERY = 60
"""Write last_seen at most once a minute (every page view would otherwise be a write)."""


@dataclass(frozen=True)
class Operator:
    """Who is signed in, as the pages need it."""

    username: str
    full_name: str
    role: str
    csrf: str


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def open_session(session: Session, user: ConsoleUser, now: int) -> str:
    """A new session for a user who just signed in; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_hash(token),
            username=user.username,
            csrf=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
            expires=now + LIFETIME_SECONDS,
        )
    )
    return token


def operator_for(session: Session, token: str, now: int) -> Operator | None:
    """The operator of a live session, or None (unknown, expired, idle, user disabled)."""
    row = session.get(ConsoleSession, _hash(token))
    if row is None:
        return None
    user = session.get(ConsoleUser, row.username)
    if now >= row.expires or now - row.last_seen >= IDLE_SECONDS or user is None or user.disabled:
        session.delete(row)
        return None
    if now - row.last_seen >= _TOUCH_EVERY:
        row.last_seen = now
    return Operator(user.username, user.full_name, user.role, row.csrf)


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))


def prune(session: Session, now: int) -> None:
    """Forget sessions past their absolute end (idle ones go when next presented)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires <= now))
