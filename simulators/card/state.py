"""What a simulated card keeps in its non-volatile memory, and the JSON form of its state file.

The state is an immutable value: the card application computes a new one per command and the
store replaces the file atomically, so a tear can only ever leave the old or the new state.
The key seed and PIN hash are the card's secrets: they are in the file (the chip's memory)
but never shown by ``ssn-sim card show``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from drivers.card.protocol import (
    MAX_NAME_BYTES,
    NO_DATE,
    CardState,
    Purse,
    QuantityCounter,
    TransactionKind,
)
from ledger.binary import decode_period
from ledger.cardproofs import (
    MAX_PURSES,
    MAX_QUANTITIES,
    CardCertificate,
    CardTransaction,
    DebitProof,
    LoadReceipt,
    VoidProof,
    check_purse_code,
    decode_card_transaction,
)
from ledger.crypto import PUBLIC_KEY_SIZE, SigningKey

FILE_FORMAT = "ssn-card-sim/2"
LOG_SIZE = 16
"""The card keeps the signed messages of its last 16 transactions."""
MAX_BALANCE = 10_000_000
"""No purse holds more than Rp10,000,000 (a load past it is refused with 9402)."""
SALT_SIZE = 16


class CardFileError(Exception):
    """A card state file that cannot be read or does not hold a valid card."""


def pin_digest(salt: bytes, pin: str) -> bytes:
    return hashlib.sha256(salt + pin.encode("ascii")).digest()


def transaction_kind(message: CardTransaction) -> TransactionKind:
    if isinstance(message, DebitProof):
        return TransactionKind.DEBIT
    if isinstance(message, VoidProof):
        return TransactionKind.VOID
    return TransactionKind.LOAD


@dataclass(frozen=True)
class LogEntry:
    """One logged transaction: the card-signed message bytes and its decoded form."""

    message: CardTransaction
    raw: bytes

    @classmethod
    def of(cls, message: CardTransaction) -> LogEntry:
        return cls(message, message.encode())

    @classmethod
    def decode(cls, raw: bytes) -> LogEntry:
        return cls(decode_card_transaction(raw), raw)

    @property
    def counter(self) -> int:
        return self.message.counter


@dataclass(frozen=True)
class CardData:
    """The card's persistent memory (selection and PIN-verified are volatile: not here)."""

    pin_salt: bytes
    state: CardState = CardState.BLANK
    key_seed: bytes | None = None
    certificate: CardCertificate | None = None
    holder_name: str = ""
    authority_key: bytes | None = None
    pin_hash: bytes | None = None
    pin_max_tries: int = 0
    pin_tries_left: int = 0
    counter: int = 0
    last_load_seq: int = 0
    load_window: int = 0
    """Bit i set: load ``last_load_seq - 1 - i`` was applied (a 32-load replay window, so a
    load relayed after a newer one still applies once)."""
    trusted_date: dt.date = NO_DATE
    """The latest date seen in an issuer-signed message; debits dated before it are refused."""
    last_unblock_seq: int = 0
    """The newest PIN-unblock order applied: an order at or below it never resets the tries
    again (the same one answers its receipt again, for recovery)."""
    purses: tuple[Purse, ...] = ()
    quantities: tuple[QuantityCounter, ...] = ()
    log: tuple[LogEntry, ...] = ()

    @classmethod
    def blank(cls) -> CardData:
        return cls(pin_salt=os.urandom(SALT_SIZE))

    def replace(self, **changes: Any) -> CardData:
        return dataclasses.replace(self, **changes)

    def pin_matches(self, pin: str) -> bool:
        if self.pin_hash is None:
            return False
        return hmac.compare_digest(self.pin_hash, pin_digest(self.pin_salt, pin))

    def signing_key(self) -> SigningKey | None:
        return SigningKey.from_seed(self.key_seed) if self.key_seed else None

    def find_log(self, counter: int) -> LogEntry | None:
        return next((entry for entry in self.log if entry.counter == counter), None)

    def with_log(self, message: CardTransaction) -> CardData:
        log = (*self.log, LogEntry.of(message))[-LOG_SIZE:]
        return self.replace(log=log, counter=message.counter)

    # --- the state file -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FILE_FORMAT,
            "state": self.state.name,
            "holder_name": self.holder_name,
            "counter": self.counter,
            "last_load_seq": self.last_load_seq,
            "load_window": self.load_window,
            "trusted_date": self.trusted_date.isoformat(),
            "last_unblock_seq": self.last_unblock_seq,
            "purses": [
                {"code": p.code, "balance": p.balance, "expiry": p.expiry.isoformat()}
                for p in self.purses
            ],
            "quantities": [
                {"category": q.category, "period": q.period, "used": q.used}
                for q in self.quantities
            ],
            "pin_max_tries": self.pin_max_tries,
            "pin_tries_left": self.pin_tries_left,
            "certificate": _hex(self.certificate.encode() if self.certificate else None),
            "authority_key": _hex(self.authority_key),
            "key_seed": _hex(self.key_seed),
            "pin_salt": self.pin_salt.hex(),
            "pin_hash": _hex(self.pin_hash),
            "log": [entry.raw.hex() for entry in self.log],
        }

    @classmethod
    def from_json(cls, value: Any) -> CardData:
        """Strictly rebuilds a card from its file; anything inconsistent is a CardFileError."""
        try:
            return _from_json(value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CardFileError(f"not a valid card state: {exc}") from exc


def _hex(value: bytes | None) -> str | None:
    return value.hex() if value is not None else None


def _unhex(value: Any, size: int | None = None) -> bytes | None:
    if value is None:
        return None
    raw = bytes.fromhex(value)
    if size is not None and len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw


def _int(value: Any, low: int = 0, high: int = 0xFFFFFFFF) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"integer {value!r} out of range")
    return value


def _from_json(value: Any) -> CardData:
    if value.get("format") != FILE_FORMAT:
        raise ValueError(f"format is not {FILE_FORMAT}")
    cert_raw = _unhex(value["certificate"])
    purses = tuple(
        Purse(check_purse_code(p["code"]), _int(p["balance"]), dt.date.fromisoformat(p["expiry"]))
        for p in value["purses"]
    )
    quantities = []
    for q in value["quantities"]:
        decode_period(_int(q["period"], 0, 0xFFFF))
        quantities.append(
            QuantityCounter(_int(q["category"], 0, 255), q["period"], _int(q["used"]))
        )
    log = tuple(LogEntry.decode(bytes.fromhex(raw)) for raw in value["log"])
    name = value["holder_name"]
    if not isinstance(name, str) or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError("holder name")
    data = CardData(
        pin_salt=_unhex(value["pin_salt"], SALT_SIZE) or b"",
        state=CardState[value["state"]],
        key_seed=_unhex(value["key_seed"], 32),
        certificate=CardCertificate.decode(cert_raw) if cert_raw else None,
        holder_name=name,
        authority_key=_unhex(value["authority_key"], PUBLIC_KEY_SIZE),
        pin_hash=_unhex(value["pin_hash"], 32),
        pin_max_tries=_int(value["pin_max_tries"], 0, 15),
        pin_tries_left=_int(value["pin_tries_left"], 0, 15),
        counter=_int(value["counter"]),
        last_load_seq=_int(value["last_load_seq"]),
        load_window=_int(value["load_window"]),
        trusted_date=dt.date.fromisoformat(value["trusted_date"]),
        last_unblock_seq=_int(value.get("last_unblock_seq", 0)),  # absent: never unblocked
        purses=purses,
        quantities=tuple(quantities),
        log=log,
    )
    _check_consistent(data)
    return data


def _check_consistent(data: CardData) -> None:
    if len(data.purses) > MAX_PURSES or len(data.quantities) > MAX_QUANTITIES:
        raise ValueError("too many purses or quantity counters")
    if len({p.code for p in data.purses}) != len(data.purses):
        raise ValueError("repeated purse code")
    if len(data.log) > LOG_SIZE:
        raise ValueError("log longer than the card keeps")
    if data.pin_tries_left > data.pin_max_tries:
        raise ValueError("more PIN tries left than allowed")
    if data.state != CardState.BLANK and (
        data.certificate is None or data.key_seed is None or data.authority_key is None
    ):
        raise ValueError("a personalized card needs its key, certificate and authority key")
    key = data.signing_key()
    if data.certificate is not None and (
        key is None or key.public_key != data.certificate.public_key
    ):
        raise ValueError("certificate does not hold the card's own key")
    if data.log and data.log[-1].counter != data.counter:
        raise ValueError("last logged transaction does not carry the card counter")
    if any(b.counter <= a.counter for a, b in zip(data.log, data.log[1:], strict=False)):
        raise ValueError("log counters are not increasing")


def describe(data: CardData) -> dict[str, Any]:
    """What ``ssn-sim card show`` prints: everything but the secrets."""
    cert = data.certificate
    return {
        "card_number": cert.card_number if cert else None,
        "holder_name": data.holder_name,
        "state": data.state.name,
        "certificate_valid_until": cert.valid_until.isoformat() if cert else None,
        "key_generated": data.key_seed is not None,
        "pin_tries_left": data.pin_tries_left,
        "pin_max_tries": data.pin_max_tries,
        "counter": data.counter,
        "last_load_seq": data.last_load_seq,
        "last_unblock_seq": data.last_unblock_seq,
        "trusted_date": data.trusted_date.isoformat(),
        "purses": [
            {"code": p.code, "balance": p.balance, "expiry": p.expiry.isoformat()}
            for p in data.purses
        ],
        "quantities": [
            {"category": q.category, "period": q.period, "used": q.used} for q in data.quantities
        ],
        "log": [_describe_entry(entry) for entry in data.log],
    }


def _describe_entry(entry: LogEntry) -> dict[str, Any]:
    message = entry.message
    out: dict[str, Any] = {
        "counter": message.counter,
        "kind": transaction_kind(message).name,
        "terminal_id": message.terminal_id,
        "time": message.time,
        "nonce": message.nonce.hex(),
    }
    if isinstance(message, LoadReceipt):
        out.update(
            purse=message.purse_code,
            amount=message.amount,
            load_seq=message.load_seq,
            expired_swept=message.expired_swept,
            balance_after=message.balance_after,
        )
    else:
        out["purses"] = [
            {"code": p.code, "amount": p.amount, "balance_after": p.balance_after}
            for p in message.purses
        ]
        if isinstance(message, VoidProof):
            out["original_counter"] = message.original_counter
    out["message"] = entry.raw.hex()
    return out
