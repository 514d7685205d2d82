"""What ``terminal.json`` holds: :class:`TerminalConfig` (shop, gateway, trust anchors, offline
limits, devices, the supervisor PIN's hash), read strictly, and the PIN hashes it and
``staff.json`` keep.

The home (:mod:`terminal.home`) finds, writes and opens the file; this module only says what
it means. A hand edit that does not mean what it says is refused whole, never half taken.
PINs are kept as salted scrypt: slow on purpose, so a screen checks one in a worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.binary import FormatError
from ledger.cardproofs import check_terminal_id
from ledger.crypto import KEY_ID_SIZE, PUBLIC_KEY_SIZE, key_id
from ledger.verify import TrustAnchors

CONFIG_FORMAT = 1
LANGUAGES = ("id", "en")
HELD_RECEIPTS = ("hold", "header")
"""What happens to a holder's receipt that missed its own sale: held for a reprint, or printed
later under a header naming its transaction (docs/printing.md)."""
PRINT_WAIT_LIMIT = 120.0
_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1}


def hash_pin(pin: str) -> str:
    """A supervisor PIN as stored in the config: salted scrypt, never the PIN itself."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValueError("a PIN is 4 to 8 digits")
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, bytes.fromhex(digest))


@dataclass(frozen=True)
class RiskLimits:
    """How far the terminal sells without the host (R3); beyond them sales are refused."""

    max_offline_sale: int
    """Most rupiah one sale may take from a card while offline."""
    max_offline_total: int
    """Most rupiah of card sales since the last successful sync."""
    max_offline_hours: int
    """Most hours since the last successful sync."""


@dataclass(frozen=True)
class TerminalConfig:
    terminal_id: str
    shop_name: str
    shop_address: str
    gateway_url: str
    ca_keys: Mapping[bytes, bytes]
    """Issuer CA public keys by key id (certify cards and terminals)."""
    authority_keys: Mapping[bytes, bytes]
    """Issuer authority public keys by key id (loads, block orders, catalog, hotlist)."""
    risk: RiskLimits
    split_tender: bool = False
    receipt_language: str = "id"
    printer_url: str | None = None
    reader_name: str | None = None
    scanner_url: str | None = None
    """A serial barcode scanner (``serial:///dev/ttyUSB0?baud=9600``); None: a keyboard wedge
    or none."""
    supervisor_pin_hash: str | None = None
    """From :func:`hash_pin`; None means no supervisor, so no voids on this terminal."""
    print_wait_seconds: float = 10.0
    """How long an operation prints its own receipt in front of the holder before it waits."""
    held_receipts: str = "hold"
    """One of :data:`HELD_RECEIPTS`."""
    terminal_public_key: bytes = b""
    """Filled in by :meth:`TerminalHome.create` from the key."""
    terminal_certificate: bytes | None = None
    """The issuer CA's certificate of the terminal key, from enrollment."""
    gateway_ca: str | None = None
    """PEM of the CA the gateway's HTTPS certificate must chain to, pinned at enrollment."""

    @property
    def anchors(self) -> TrustAnchors:
        return TrustAnchors(ca_keys=dict(self.ca_keys), authority_keys=dict(self.authority_keys))

    def check_supervisor_pin(self, pin: str) -> bool:
        return self.supervisor_pin_hash is not None and check_pin(pin, self.supervisor_pin_hash)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CONFIG_FORMAT,
            "terminal_id": self.terminal_id,
            "terminal_public_key": self.terminal_public_key.hex(),
            "terminal_certificate": _hex_or_none(self.terminal_certificate),
            "shop": {"name": self.shop_name, "address": self.shop_address},
            "gateway_url": self.gateway_url,
            "trust_anchors": {
                "ca": {k.hex(): v.hex() for k, v in self.ca_keys.items()},
                "authority": {k.hex(): v.hex() for k, v in self.authority_keys.items()},
            },
            "risk_limits": dataclasses.asdict(self.risk),
            "split_tender": self.split_tender,
            "receipt_language": self.receipt_language,
            "printer_url": self.printer_url,
            "reader_name": self.reader_name,
            "scanner_url": self.scanner_url,
            "supervisor_pin_hash": self.supervisor_pin_hash,
            "print_wait_seconds": self.print_wait_seconds,
            "held_receipts": self.held_receipts,
            "gateway_ca": self.gateway_ca,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        """Strict: a config with a missing, extra or mistyped field is refused whole."""
        if not isinstance(value, dict):
            raise FormatError("config must be an object")
        found = value.get("format")
        if type(found) is int and found != CONFIG_FORMAT:
            # Another format's fields are not this one's: say that, not the first odd field.
            raise FormatError(f"config format {found!r} is not {CONFIG_FORMAT}")
        try:
            file = _ConfigFile.model_validate(value)
        except ValidationError as exc:
            raise FormatError(_first_error(exc)) from exc
        config = cls(
            terminal_id=check_terminal_id(file.terminal_id),
            shop_name=file.shop.name,
            shop_address=file.shop.address,
            gateway_url=file.gateway_url,
            ca_keys=_keys(file.trust_anchors.ca, "ca"),
            authority_keys=_keys(file.trust_anchors.authority, "authority"),
            risk=RiskLimits(**file.risk_limits.model_dump()),
            split_tender=file.split_tender,
            receipt_language=file.receipt_language,
            printer_url=file.printer_url,
            reader_name=file.reader_name,
            scanner_url=file.scanner_url,
            supervisor_pin_hash=file.supervisor_pin_hash,
            print_wait_seconds=10.0 if file.print_wait_seconds is None else file.print_wait_seconds,
            held_receipts=file.held_receipts or "hold",
            terminal_public_key=_unhex(file.terminal_public_key, "terminal_public_key"),
            terminal_certificate=_optional_unhex(file.terminal_certificate),
            gateway_ca=file.gateway_ca,
        )
        if config.receipt_language not in LANGUAGES:
            raise FormatError(f"receipt_language must be one of {', '.join(LANGUAGES)}")
        if config.held_receipts not in HELD_RECEIPTS:
            raise FormatError(f"held_receipts must be one of {', '.join(HELD_RECEIPTS)}")
        if not 0 < config.print_wait_seconds <= PRINT_WAIT_LIMIT:
            raise FormatError(
                f"print_wait_seconds must be more than 0 and at most {PRINT_WAIT_LIMIT:g}"
            )
        if len(config.terminal_public_key) != PUBLIC_KEY_SIZE:
            raise FormatError("terminal_public_key must be 32 bytes (hex)")
        return config


class _Exact(BaseModel):
    """A part of terminal.json: JSON types only (no "300000" for a number, no true for 1) and
    no unknown field, so a hand edit that does not mean what it says is refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


Count = Annotated[int, Field(ge=0)]


class _Shop(_Exact):
    name: str
    address: str


class _Anchors(_Exact):
    ca: dict[str, str]
    authority: dict[str, str]


class _Risk(_Exact):
    max_offline_sale: Count
    max_offline_total: Count
    max_offline_hours: Count


class _ConfigFile(_Exact):
    """terminal.json as written by :meth:`TerminalConfig.to_json`; fields added after the first
    version (``print_wait_seconds``, ``held_receipts``, ``gateway_ca``) may be absent or null."""

    format: Count
    terminal_id: str
    terminal_public_key: str
    terminal_certificate: str | None = None
    shop: _Shop
    gateway_url: str
    trust_anchors: _Anchors
    risk_limits: _Risk
    split_tender: bool
    receipt_language: str
    printer_url: str | None = None
    reader_name: str | None = None
    scanner_url: str | None = None
    supervisor_pin_hash: str | None = None
    print_wait_seconds: float | None = None
    held_receipts: str | None = None
    gateway_ca: str | None = None


def _first_error(exc: ValidationError) -> str:
    """The first thing wrong, named by its path in the file (``risk_limits.max_offline_sale``)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "config"
    return f"{where}: {first['msg']}"


def _unhex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise FormatError(f"{what} is not hex") from exc


def _optional_unhex(text: str | None) -> bytes | None:
    return None if text is None else _unhex(text, "terminal_certificate")


def _hex_or_none(data: bytes | None) -> str | None:
    return None if data is None else data.hex()


def _keys(value: Mapping[str, str], what: str) -> dict[bytes, bytes]:
    keys = {}
    for kid_hex, key_hex in value.items():
        kid, key = _unhex(kid_hex, "key id"), _unhex(key_hex, "public key")
        if len(kid) != KEY_ID_SIZE or len(key) != PUBLIC_KEY_SIZE or key_id(key) != kid:
            raise FormatError(f"trust_anchors.{what}: {kid_hex} is not the id of its key")
        keys[kid] = key
    return keys
