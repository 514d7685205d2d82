"""The console's own tables: operators who sign in with a password, and their sessions.

Everything else the console shows or changes lives in the gateway's tables and is changed by the
same service functions the CLI calls.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from host_gateway.models import Base, StoredRecord


class ConsoleUser(Base):
    """An operator of the web console; the password is kept only as an argon2id hash."""

    __tablename__ = "console_users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(24))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    """Failures since the last good sign-in; at the limit the account locks."""
    locked_until: Mapped[int | None] = mapped_column(BigInteger)
    created: Mapped[int] = mapped_column(BigInteger)


class ConsoleSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a database
    leak signs nobody in; the CSRF token is per session and sent back in every form."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("console_users.username"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(BigInteger)
    last_seen: Mapped[int] = mapped_column(BigInteger)
    expires: Mapped[int] = mapped_column(BigInteger)
    """Absolute end; an idle session ends earlier (``sessions.IDLE_SECONDS``)."""


RECORDS_BY_RECEIPT_TIME = Index("ix_records_received_at", StoredRecord.received_at)
"""The dashboard's "today" is a range of receive times; without it every page load reads every
record. Receive times only grow, so the index is appended to at its right edge on ingest."""
