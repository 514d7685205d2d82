"""Issuer-signed, versioned documents: catalog, hotlist, terminal config.

A document is ``{"kind", "version", "issued", "content", "key_id", "sig"}`` in canonical encoding,
signed by the issuer authority key. A receiver accepts it only if the signature verifies, the kind
is the one expected and the version is newer than what it holds; otherwise it keeps its current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger import canonical
from ledger.binary import FormatError
from ledger.crypto import KEY_ID_SIZE, SIGNATURE_SIZE, Domain, SigningKey, verify


class DocumentError(Exception):
    """A document that must be refused whole."""


@dataclass(frozen=True)
class SignedDocument:
    kind: str
    version: int
    issued: int
    content: Mapping[str, Any]
    key_id: bytes
    signature: bytes

    @staticmethod
    def _unsigned(
        kind: str, version: int, issued: int, content: Mapping[str, Any], key_id: bytes
    ) -> bytes:
        return canonical.encode(
            {
                "kind": kind,
                "version": version,
                "issued": issued,
                "content": dict(content),
                "key_id": key_id,
            }
        )

    @classmethod
    def sign(
        cls, kind: str, version: int, issued: int, content: Mapping[str, Any], key: SigningKey
    ) -> SignedDocument:
        message = cls._unsigned(kind, version, issued, content, key.key_id)
        return cls(
            kind, version, issued, content, key.key_id, key.sign(Domain.SIGNED_DOCUMENT, message)
        )

    def encode(self) -> bytes:
        return canonical.encode(
            {
                "kind": self.kind,
                "version": self.version,
                "issued": self.issued,
                "content": dict(self.content),
                "key_id": self.key_id,
                "sig": self.signature,
            }
        )

    @classmethod
    def decode_verified(
        cls, data: bytes, kind: str, authority_keys: Mapping[bytes, bytes], newer_than: int = 0
    ) -> SignedDocument:
        """Parse and check a document; any problem raises :class:`DocumentError` with the reason."""
        try:
            value = canonical.decode(data)
        except FormatError as exc:
            raise DocumentError(f"not a signed document: {exc}") from exc
        if not isinstance(value, dict) or set(value) != {
            "kind",
            "version",
            "issued",
            "content",
            "key_id",
            "sig",
        }:
            raise DocumentError("not a signed document: wrong fields")
        doc_kind, version, issued = value["kind"], value["version"], value["issued"]
        content, key_id, sig = value["content"], value["key_id"], value["sig"]
        if doc_kind != kind:
            raise DocumentError(f"expected a {kind} document, got {doc_kind!r}")
        if not (
            isinstance(version, int)
            and isinstance(issued, int)
            and isinstance(content, dict)
            and isinstance(key_id, bytes)
            and len(key_id) == KEY_ID_SIZE
            and isinstance(sig, bytes)
            and len(sig) == SIGNATURE_SIZE
        ):
            raise DocumentError("not a signed document: wrong field types")
        key = authority_keys.get(key_id)
        message = cls._unsigned(kind, version, issued, content, key_id)
        if key is None or not verify(key, Domain.SIGNED_DOCUMENT, message, sig):
            raise DocumentError(f"{kind} signature does not verify")
        if version <= newer_than:
            raise DocumentError(f"{kind} version {version} is not newer than {newer_than}")
        return cls(kind, version, issued, content, key_id, sig)
