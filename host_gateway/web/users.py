"""Console operators: adding them, their passwords (argon2id via argon2-cffi), sign-in with
lockout after repeated failures. Used by ``ssn-gateway users`` and by the console itself.

Every change is an audit entry in the same transaction (``events.audit``); failed sign-ins and
lockouts are events too, so an attack on a password is visible in the audit log.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import events
from host_gateway.errors import GatewayError, not_found
from host_gateway.shops import clean_name
from host_gateway.web.models import ConsoleUser
from host_gateway.web.roles import parse_role

MAX_FAILURES = 5
"""Wrong passwords in a row that lock an account."""
LOCK_SECONDS = 15 * 60
MIN_PASSWORD = 10
_USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,63}")
HASHER = PasswordHasher()
"""argon2id with the library's defaults (RFC 9106 low-memory); a hash carries its parameters,
so raising them later rehashes each password at its next sign-in."""


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for an unknown name (same work as a real check); made on first
    use, not at import: every ``ssn-gateway`` command imports this module."""
    return HASHER.hash("no such user")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise GatewayError("invalid", f"a password has at least {MIN_PASSWORD} characters")


def add_user(
    session: Session, who: str, username: str, full_name: str, role: str, password: str, now: int
) -> ConsoleUser:
    if not _USERNAME.fullmatch(username):
        raise GatewayError("invalid", "username: 3-64 of a-z 0-9 . _ -, starting with a letter")
    try:
        role = parse_role(role).value
    except ValueError as exc:
        raise GatewayError("invalid", str(exc)) from exc
    _check_password(password)
    if session.get(ConsoleUser, username) is not None:
        raise GatewayError("exists", f"user {username} already exists", 409)
    user = ConsoleUser(
        username=username,
        full_name=clean_name(full_name, "full name"),
        role=role,
        password_hash=HASHER.hash(password),
        disabled=False,
        failed_logins=0,
        created=now,
    )
    session.add(user)
    events.audit(session, now, who, f"users add {username} as {role}")
    session.flush()
    return user


def _user(session: Session, username: str) -> ConsoleUser:
    user = session.get(ConsoleUser, username)
    if user is None:
        raise not_found(f"user {username}")
    return user


def set_password(session: Session, who: str, username: str, password: str, now: int) -> None:
    _check_password(password)
    _user(session, username).password_hash = HASHER.hash(password)
    events.audit(session, now, who, f"users passwd {username}")


def set_disabled(session: Session, who: str, username: str, disabled: bool, now: int) -> None:
    """A disabled user cannot sign in and its open sessions stop working at the next request."""
    _user(session, username).disabled = disabled
    events.audit(session, now, who, f"users {'disable' if disabled else 'enable'} {username}")


def unlock(session: Session, who: str, username: str, now: int) -> None:
    user = _user(session, username)
    user.failed_logins, user.locked_until = 0, None
    events.audit(session, now, who, f"users unlock {username}")


def list_users(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))


@dataclass(frozen=True)
class SignIn:
    user: ConsoleUser | None
    refusal: str = ""
    """Why not, in words for the person at the screen (never which of name or password)."""


def sign_in(session: Session, username: str, password: str, now: int) -> SignIn:
    """Check a password; counts failures and locks at ``MAX_FAILURES``. Returns rather than
    raises, so the failure count is committed with the transaction."""
    user = session.get(ConsoleUser, username, with_for_update=True)
    if user is None or user.disabled:
        _verify(_dummy_hash(), password)
        _failed(session, now, username, "unknown or disabled user")
        return SignIn(None, "Nama pengguna atau kata sandi salah.")
    if user.locked_until is not None and user.locked_until > now:
        _failed(session, now, username, "account locked")
        return SignIn(None, "Akun terkunci karena terlalu banyak percobaan. Coba lagi nanti.")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.failed_logins, user.locked_until = 0, now + LOCK_SECONDS
            events.record_events(
                session,
                now,
                [events.EventRow("console_lockout", f"{username}: locked after failures")],
            )
            return SignIn(None, "Akun terkunci karena terlalu banyak percobaan. Coba lagi nanti.")
        _failed(session, now, username, "wrong password")
        return SignIn(None, "Nama pengguna atau kata sandi salah.")
    user.failed_logins, user.locked_until = 0, None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    events.audit(session, now, username, "signed in to the console")
    return SignIn(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _failed(session: Session, now: int, username: str, why: str) -> None:
    events.record_events(
        session, now, [events.EventRow("console_signin_failed", f"{username[:64]}: {why}")]
    )


def audit_sign_out(session: Session, username: str, now: int) -> None:
    events.audit(session, now, username, "signed out of the console")
