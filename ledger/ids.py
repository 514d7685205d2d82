"""Identifiers made where the event happens: time-ordered UUIDs (UUIDv7, RFC 9562)."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    value: uuid.UUID = uuid6.uuid7()
    return uuid.UUID(bytes=value.bytes)
