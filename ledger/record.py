"""The terminal-signed, hash-chained transaction record and its canonical encoding.

A record is what a terminal commits when money moved (sale, void, load) or a day ended. Records
from one terminal form a chain: each carries the per-terminal sequence number and the SHA-256 of
the previous record's encoding, and is signed by the terminal key. The card's own proof travels
inside, byte for byte. docs/record-format.md describes every field and has fixed test vectors.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger import canonical
from ledger.binary import FormatError
from ledger.cardproofs import check_terminal_id
from ledger.crypto import SIGNATURE_SIZE, Domain, SignatureCheck, SigningKey, sha256, verify

RECORD_VERSION = 2
HASH_SIZE = 32
GENESIS_HASH = bytes(HASH_SIZE)
"""The ``prev`` of a terminal's first record."""


class RecordType(enum.StrEnum):
    SALE = "sale"
    VOID = "void"
    LOAD = "load"
    BLOCK = "block"
    PIN_UNBLOCK = "pin_unblock"
    DAY_CLOSE = "day_close"


@dataclass(frozen=True)
class Record:
    type: RecordType
    id: uuid.UUID
    terminal_id: str
    seq: int
    prev_hash: bytes
    time: int
    """Unix seconds by the terminal's clock: a claim, the host keeps its own receive time."""
    body: Mapping[str, Any]
    """Type-specific content; see :mod:`ledger.bodies` for the typed views."""
    signature: bytes = b""

    def unsigned_value(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "type": str(self.type),
            "id": self.id.bytes,
            "terminal": self.terminal_id,
            "seq": self.seq,
            "prev": self.prev_hash,
            "time": self.time,
            "body": dict(self.body),
        }

    @property
    def decoded(self) -> bool:
        """Made by :meth:`decode` from canonical bytes: every map in it is in canonical key
        order (a changed copy is not, nor a record just signed: its body is as it was built)."""
        return "_decoded" in self.__dict__

    def signed_bytes(self) -> bytes:
        """What the terminal signs: the canonical encoding of everything but the signature."""
        encoded = self.__dict__.get("_encoded")
        if encoded is not None:
            signed = _without_signature(encoded, self.seq, self.signature)
            if signed is not None:
                return signed
        return canonical.encode(self.unsigned_value())

    def encode(self) -> bytes:
        encoded: bytes | None = self.__dict__.get("_encoded")
        if encoded is not None:
            return encoded
        if len(self.signature) != SIGNATURE_SIZE:
            raise FormatError("record is not signed")
        value = self.unsigned_value()
        value["sig"] = self.signature
        return canonical.encode(value)

    def hash(self) -> bytes:
        """The chain link: SHA-256 of the full encoding, signature included."""
        return sha256(self.encode())

    def signed_by(self, key: SigningKey) -> Record:
        signed = self.signed_bytes()
        record = dataclasses.replace(self, signature=key.sign(Domain.TERMINAL_RECORD, signed))
        # A terminal stores, hashes and uploads the record it just signed: keep its encoding,
        # the signed bytes with the signature entry put in, rather than encode it twice more.
        object.__setattr__(record, "_encoded", _with_signature(signed, self.seq, record.signature))
        return record

    def verify_signature(self, terminal_public_key: bytes, check: SignatureCheck = verify) -> bool:
        return check(
            terminal_public_key, Domain.TERMINAL_RECORD, self.signed_bytes(), self.signature
        )

    @classmethod
    def decode(cls, data: bytes) -> Record:
        value = canonical.decode(data)
        if not isinstance(value, dict):
            raise FormatError("a record is a map")
        expected = {"v", "type", "id", "terminal", "seq", "prev", "time", "body", "sig"}
        if set(value) != expected:
            missing, extra = expected - set(value), set(value) - expected
            raise FormatError(
                f"record fields wrong: missing {sorted(missing)}, extra {sorted(extra)}"
            )
        if value["v"] != RECORD_VERSION:
            raise FormatError(f"unsupported record version {value['v']!r}")
        try:
            record_type = RecordType(value["type"])
        except ValueError as exc:
            raise FormatError(f"unknown record type {value['type']!r}") from exc
        record_id, prev, sig = value["id"], value["prev"], value["sig"]
        if not (isinstance(record_id, bytes) and len(record_id) == 16):
            raise FormatError("record id must be 16 bytes")
        if not (isinstance(prev, bytes) and len(prev) == HASH_SIZE):
            raise FormatError("prev must be a 32-byte hash")
        if not (isinstance(sig, bytes) and len(sig) == SIGNATURE_SIZE):
            raise FormatError("sig must be 64 bytes")
        seq, time, body = value["seq"], value["time"], value["body"]
        if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1):
            raise FormatError("seq must be a positive integer")
        if not (isinstance(time, int) and not isinstance(time, bool) and time >= 0):
            raise FormatError("time must be a non-negative integer")
        if not isinstance(body, dict):
            raise FormatError("body must be a map")
        terminal_id = value["terminal"]
        if not isinstance(terminal_id, str):
            raise FormatError("terminal must be text")
        record = cls(
            type=record_type,
            id=uuid.UUID(bytes=record_id),
            terminal_id=check_terminal_id(terminal_id),
            seq=seq,
            prev_hash=prev,
            time=time,
            body=body,
            signature=sig,
        )
        # The bytes are canonical (checked above), so they are this record's one encoding: keep
        # them instead of encoding again (hosts and uploads handle thousands of records a
        # second). Not a field: dataclasses.replace() makes a record without it.
        object.__setattr__(record, "_encoded", bytes(data))
        object.__setattr__(record, "_decoded", True)
        return record


_SIGNATURE_ENTRY = b"\x63sig\x58\x40"
"""Canonical CBOR of the key "sig" and the head of a 64-byte string."""


def _without_signature(encoded: bytes, seq: int, signature: bytes) -> bytes | None:
    """The signed part of a canonical record encoding, cut out of it: the same 9-entry map
    without its "sig" entry. Canonical CBOR orders keys by length, then bytes (v, id, seq, sig,
    prev, ...), so the entry starts right after seq: map head (1), "v": 2 (3), "id": 16 bytes
    (20), "seq" key (4) and the seq integer. None when the bytes are not laid out that way."""
    start = 28 + _uint_size(seq)
    end = start + len(_SIGNATURE_ENTRY) + SIGNATURE_SIZE
    if encoded[:1] != b"\xa9" or encoded[start:end] != _SIGNATURE_ENTRY + signature:
        return None
    return b"\xa8" + encoded[1:start] + encoded[end:]


def _with_signature(signed: bytes, seq: int, signature: bytes) -> bytes:
    """The full canonical encoding from the signed part: the inverse of :func:`_without_signature`
    (the 8-entry map becomes 9 entries, "sig" right after seq)."""
    if signed[:1] != b"\xa8" or len(signature) != SIGNATURE_SIZE:
        raise FormatError("not the signed part of a record")
    start = 28 + _uint_size(seq)
    return b"\xa9" + signed[1:start] + _SIGNATURE_ENTRY + signature + signed[start:]


def _uint_size(value: int) -> int:
    """Bytes of a canonical CBOR unsigned integer."""
    if value < 24:
        return 1
    if value < 1 << 8:
        return 2
    if value < 1 << 16:
        return 3
    return 5 if value < 1 << 32 else 9
