"""The issuer CA's certificate for a terminal key: which terminal of which shop, until when.

A terminal certificate is canonical CBOR (see :mod:`ledger.canonical`)::

    {"v": 1, "terminal": "SMD-0001", "shop": "S0001", "key": <32 bytes>, "issued": <unix s>,
     "valid_until": <unix s>, "serial": <int>, "key_id": <4 bytes of the CA key id>, "sig": <64>}

``sig`` is the CA's Ed25519 signature, under ``Domain.TERMINAL_CERTIFICATE``, over the canonical
encoding of every other field. Terminal and host share this one codec: the host issues it at
enrollment, the terminal keeps it and shows it to whoever verifies its records.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger import canonical
from ledger.binary import FormatError
from ledger.cardproofs import check_terminal_id
from ledger.crypto import (
    KEY_ID_SIZE,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    Domain,
    SigningKey,
    verify,
)

CERTIFICATE_VERSION = 1
_SHOP_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{1,19}")
_FIELDS = {"v", "terminal", "shop", "key", "issued", "valid_until", "serial", "key_id", "sig"}


class CertificateError(Exception):
    """A terminal certificate that must not be trusted; the message says why."""


def check_shop_id(shop_id: str) -> str:
    if not isinstance(shop_id, str) or not _SHOP_ID.fullmatch(shop_id):
        raise FormatError(f"shop id must be 2-20 characters A-Z/0-9/-, got {shop_id!r}")
    return shop_id


@dataclass(frozen=True)
class TerminalCertificate:
    terminal_id: str
    shop_id: str
    public_key: bytes
    issued: int
    valid_until: int
    serial: int
    issuer_key_id: bytes
    signature: bytes = dataclasses.field(default=b"", repr=False)

    def unsigned_value(self) -> dict[str, Any]:
        return {
            "v": CERTIFICATE_VERSION,
            "terminal": check_terminal_id(self.terminal_id),
            "shop": check_shop_id(self.shop_id),
            "key": self.public_key,
            "issued": self.issued,
            "valid_until": self.valid_until,
            "serial": self.serial,
            "key_id": self.issuer_key_id,
        }

    def signed_bytes(self) -> bytes:
        return canonical.encode(self.unsigned_value())

    def signed_by(self, ca: SigningKey) -> TerminalCertificate:
        if ca.key_id != self.issuer_key_id:
            raise ValueError("issuer_key_id must name the signing CA key")
        signature = ca.sign(Domain.TERMINAL_CERTIFICATE, self.signed_bytes())
        return dataclasses.replace(self, signature=signature)

    def encode(self) -> bytes:
        if len(self.signature) != SIGNATURE_SIZE:
            raise FormatError("terminal certificate is not signed")
        value = self.unsigned_value()
        value["sig"] = self.signature
        return canonical.encode(value)

    def valid_at(self, unix_seconds: int) -> bool:
        return self.issued <= unix_seconds <= self.valid_until

    @classmethod
    def decode(cls, data: bytes) -> TerminalCertificate:
        """Parse strictly; the signature is not checked here (see :meth:`decode_verified`)."""
        value = canonical.decode(data)
        if not isinstance(value, dict) or set(value) != _FIELDS:
            raise FormatError("terminal certificate fields wrong")
        if value["v"] != CERTIFICATE_VERSION:
            raise FormatError(f"unsupported terminal certificate version {value['v']!r}")
        key, key_id, sig = value["key"], value["key_id"], value["sig"]
        if not (isinstance(key, bytes) and len(key) == PUBLIC_KEY_SIZE):
            raise FormatError("key must be a 32-byte public key")
        if not (isinstance(key_id, bytes) and len(key_id) == KEY_ID_SIZE):
            raise FormatError("key_id must be 4 bytes")
        if not (isinstance(sig, bytes) and len(sig) == SIGNATURE_SIZE):
            raise FormatError("sig must be 64 bytes")
        numbers = [value[name] for name in ("issued", "valid_until", "serial")]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
            raise FormatError("issued, valid_until and serial must be non-negative integers")
        if not isinstance(value["terminal"], str) or not isinstance(value["shop"], str):
            raise FormatError("terminal and shop must be text")
        return cls(
            terminal_id=check_terminal_id(value["terminal"]),
            shop_id=check_shop_id(value["shop"]),
            public_key=key,
            issued=numbers[0],
            valid_until=numbers[1],
            serial=numbers[2],
            issuer_key_id=key_id,
            signature=sig,
        )

    @classmethod
    def decode_verified(cls, data: bytes, ca_keys: Mapping[bytes, bytes]) -> TerminalCertificate:
        """Parse and check the CA signature; any problem raises :class:`CertificateError`."""
        try:
            certificate = cls.decode(data)
        except FormatError as exc:
            raise CertificateError(f"not a terminal certificate: {exc}") from exc
        ca_key = ca_keys.get(certificate.issuer_key_id)
        if ca_key is None or not verify(
            ca_key, Domain.TERMINAL_CERTIFICATE, certificate.signed_bytes(), certificate.signature
        ):
            raise CertificateError("terminal certificate is not signed by our CA")
        return certificate
