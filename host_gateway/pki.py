"""The issuer's keys and what they sign: card and terminal certificates (CA), and the authority
key's loads, block orders, PIN-unblock orders and documents.

Private keys live in the database as passphrase-encrypted PKCS#8 (so a PostgreSQL deployment is
one place to back up) and are decrypted only in a process that must sign. Public keys (the trust
anchors) are readable without the passphrase.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway.models import IssuerKey, SealedSecret
from host_gateway.sealing import unwrap_key, wrap_key
from ledger.cardproofs import CardCertificate
from ledger.crypto import KeyFileError, SigningKey
from ledger.terminal_cert import TerminalCertificate
from ledger.verify import TrustAnchors

CA = "ca"
AUTHORITY = "authority"
NIK_KEY = "nik"


class PkiError(Exception):
    """Keys missing or not openable: the message tells the operator what to do."""


@dataclass(frozen=True)
class IssuerKeys:
    ca: SigningKey
    authority: SigningKey
    nik_key: bytes

    @property
    def anchors(self) -> TrustAnchors:
        return TrustAnchors(
            ca_keys={self.ca.key_id: self.ca.public_key},
            authority_keys={self.authority.key_id: self.authority.public_key},
        )

    def terminal_certificate(
        self, terminal_id: str, shop_id: str, public_key: bytes, issued: int, days: int, serial: int
    ) -> TerminalCertificate:
        return TerminalCertificate(
            terminal_id=terminal_id,
            shop_id=shop_id,
            public_key=public_key,
            issued=issued,
            valid_until=issued + days * 86_400,
            serial=serial,
            issuer_key_id=self.ca.key_id,
        ).signed_by(self.ca)

    def card_certificate(
        self, card_number: str, public_key: bytes, valid_until: dt.date
    ) -> CardCertificate:
        return CardCertificate(
            card_number=card_number,
            public_key=public_key,
            valid_until=valid_until,
            issuer_key_id=self.ca.key_id,
        ).signed_by(self.ca)


def keys_exist(session: Session) -> bool:
    return session.get(IssuerKey, CA) is not None


def create_issuer_keys(session: Session, passphrase: bytes, now: int) -> IssuerKeys:
    """Generate the CA and authority keys and the NIK data key; refuses if they exist."""
    if not passphrase:
        raise PkiError("the passphrase must not be empty")
    if keys_exist(session):
        raise PkiError("issuer keys already exist in this database")
    ca, authority = SigningKey.generate(), SigningKey.generate()
    for role, key in ((CA, ca), (AUTHORITY, authority)):
        session.add(
            IssuerKey(
                role=role,
                key_id=key.key_id,
                public_key=key.public_key,
                encrypted_pem=key.to_encrypted_pem(passphrase),
                created=now,
            )
        )
    nik_key = os.urandom(32)
    salt, sealed = wrap_key(nik_key, passphrase)
    session.add(SealedSecret(name=NIK_KEY, salt=salt, sealed=sealed))
    return IssuerKeys(ca, authority, nik_key)


def load_issuer_keys(session: Session, passphrase: bytes) -> IssuerKeys:
    rows = {row.role: row for row in session.scalars(select(IssuerKey))}
    if CA not in rows or AUTHORITY not in rows:
        raise PkiError("no issuer keys in this database: run `ssn-gateway init` first")
    try:
        ca = SigningKey.from_encrypted_pem(rows[CA].encrypted_pem, passphrase)
        authority = SigningKey.from_encrypted_pem(rows[AUTHORITY].encrypted_pem, passphrase)
    except KeyFileError as exc:
        raise PkiError("wrong passphrase for the issuer keys") from exc
    secret = session.get(SealedSecret, NIK_KEY)
    if secret is None:
        raise PkiError("the NIK data key is missing from this database")
    return IssuerKeys(ca, authority, unwrap_key(secret.salt, secret.sealed, passphrase))


def load_anchors(session: Session) -> TrustAnchors:
    """The public trust anchors, no passphrase needed (verification, checks)."""
    rows = {row.role: row for row in session.scalars(select(IssuerKey))}
    if CA not in rows or AUTHORITY not in rows:
        raise PkiError("no issuer keys in this database: run `ssn-gateway init` first")
    return TrustAnchors(
        ca_keys={rows[CA].key_id: rows[CA].public_key},
        authority_keys={rows[AUTHORITY].key_id: rows[AUTHORITY].public_key},
    )
