"""How a printed receipt points back at its record: the short reference read out on the phone
and the QR payload an operator scans to find the record at the gateway and check its hash.

The terminal prints it (``terminal/receipts``); the gateway reads it back (``ssn-gateway records
show``). Format: ``SSN1:<terminal>:<seq>:<record uuid>:<first 8 bytes of the record hash, hex>``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

QR_PREFIX = "SSN1"
QR_HASH_BYTES = 8


@dataclass(frozen=True)
class RecordRef:
    """Which record a receipt belongs to, and what lets an operator check it (the QR code)."""

    terminal_id: str
    seq: int
    record_id: uuid.UUID
    record_hash: bytes
    """SHA-256 of the record's full encoding; the QR carries its first 8 bytes."""

    @property
    def short(self) -> str:
        """What a person reads out on the phone: terminal and sequence number."""
        return f"{self.terminal_id}/{self.seq:06d}"

    def qr_payload(self) -> str:
        """``SSN1:<terminal>:<seq>:<record uuid>:<first 8 hash bytes, hex>``."""
        digest = self.record_hash[:QR_HASH_BYTES].hex()
        return f"{QR_PREFIX}:{self.terminal_id}:{self.seq}:{self.record_id}:{digest}"


_QR_RE = re.compile(
    r"SSN1:(?P<terminal>[A-Z0-9-]{8}):(?P<seq>[0-9]{1,10}):"
    r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(?P<hash>[0-9a-f]{16})"
)


@dataclass(frozen=True)
class QrReference:
    """A scanned receipt QR: enough to find the record and compare its hash prefix."""

    terminal_id: str
    seq: int
    record_id: uuid.UUID
    hash_prefix: bytes

    def matches(self, ref: RecordRef) -> bool:
        return (
            ref.terminal_id == self.terminal_id
            and ref.seq == self.seq
            and ref.record_id == self.record_id
            and ref.record_hash[:QR_HASH_BYTES] == self.hash_prefix
        )


def parse_qr_payload(text: str) -> QrReference:
    """Read a receipt QR back; ``ValueError`` if it is not one of ours."""
    match = _QR_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an SSN receipt code: {text!r}")
    return QrReference(
        terminal_id=match["terminal"],
        seq=int(match["seq"]),
        record_id=uuid.UUID(match["id"]),
        hash_prefix=bytes.fromhex(match["hash"]),
    )
