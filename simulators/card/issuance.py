"""A stand-in issuance station for tests and demos: personalize a blank card and load it.

It goes through a real :class:`~drivers.card.session.CardSession` over any transport (direct or
pcscd), the way the gateway's issuance flow will. The issuer keys here are plain seeds in a
JSON file: test and demo only; real issuer keys live encrypted at the host.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from drivers.card.protocol import (
    BlockRequest,
    CardState,
    LoadRequest,
    Personalization,
)
from drivers.card.session import CardSession
from drivers.card.transport import CardTransport
from ledger.cardproofs import (
    NONCE_SIZE,
    UNBLOCK_ORDER_DAYS,
    BlockOrder,
    CardCertificate,
    LoadAuthorization,
    LoadReceipt,
    PinUnblockOrder,
    sign_unblock_order,
)
from ledger.crypto import SigningKey
from ledger.verify import business_date

ISSUANCE_TERMINAL = "ISSUANCE"


class IssuanceError(Exception):
    """The card cannot be issued (not blank, wrong answer...)."""


BLOCK_ORDER_DAYS = 90
"""How long a block order stays valid (the host renews the order of a card still hotlisted)."""


@dataclass(frozen=True)
class IssuerKeys:
    """The issuer CA (certifies cards) and authority (signs loads and block orders)."""

    ca: SigningKey
    authority: SigningKey

    @classmethod
    def generate(cls) -> IssuerKeys:
        return cls(SigningKey.generate(), SigningKey.generate())

    @property
    def ca_keys(self) -> dict[bytes, bytes]:
        return {self.ca.key_id: self.ca.public_key}

    def save(self, path: Path) -> None:
        value = {
            "warning": "test issuer: private keys in clear, never for real cards",
            "ca_seed": self.ca.seed().hex(),
            "authority_seed": self.authority.seed().hex(),
            "ca_public_key": self.ca.public_key.hex(),
            "authority_public_key": self.authority.public_key.hex(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=1)

    @classmethod
    def load(cls, path: Path) -> IssuerKeys:
        try:
            value = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                SigningKey.from_seed(bytes.fromhex(value["ca_seed"])),
                SigningKey.from_seed(bytes.fromhex(value["authority_seed"])),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IssuanceError(f"cannot read issuer keys {path}: {exc}") from exc

    def authorize_load(
        self,
        card_number: str,
        load_seq: int,
        purse_code: str,
        amount: int,
        expiry: dt.date,
        issued: dt.date,
        *,
        refund_of: int = 0,
    ) -> LoadAuthorization:
        return LoadAuthorization(
            card_number=card_number,
            load_seq=load_seq,
            purse_code=purse_code,
            amount=amount,
            expiry=expiry,
            issued=issued,
            issuer_key_id=self.authority.key_id,
            purpose=LoadAuthorization.REFUND if refund_of else LoadAuthorization.BENEFIT,
            refund_of=refund_of,
        ).signed_by(self.authority)

    def block_order(
        self, card_number: str, reason: int, issued: dt.date, valid_days: int = BLOCK_ORDER_DAYS
    ) -> BlockOrder:
        return BlockOrder(
            card_number=card_number,
            reason=reason,
            issued=issued,
            issuer_key_id=self.authority.key_id,
            valid_until=issued + dt.timedelta(days=valid_days),
        ).signed_by(self.authority)

    def unblock_order(
        self,
        card_number: str,
        unblock_seq: int,
        issued: dt.date,
        tries: int = 3,
        valid_days: int = UNBLOCK_ORDER_DAYS,
    ) -> PinUnblockOrder:
        """The order the host signs (:func:`~ledger.cardproofs.sign_unblock_order`), from this
        test issuer's authority key."""
        return sign_unblock_order(
            self.authority, card_number, unblock_seq, tries, issued, valid_days
        )


def personalize(
    transport: CardTransport,
    issuer: IssuerKeys,
    card_number: str,
    holder_name: str,
    pin: str,
    valid_until: dt.date,
    pin_max_tries: int = 3,
) -> CardCertificate:
    """Generates the card's key on the card, certifies it and personalizes the card."""
    session = CardSession(transport, issuer.ca_keys)
    if session.select().state != CardState.BLANK:
        raise IssuanceError("the card is not blank")
    public_key = session.generate_key()
    certificate = CardCertificate(
        card_number=card_number,
        public_key=public_key,
        valid_until=valid_until,
        issuer_key_id=issuer.ca.key_id,
    ).signed_by(issuer.ca)
    session.personalize(
        Personalization(certificate, holder_name, issuer.authority.public_key, pin, pin_max_tries)
    )
    return certificate


def load(
    session: CardSession,
    authorization: LoadAuthorization,
    time: int,
    terminal_id: str = ISSUANCE_TERMINAL,
) -> LoadReceipt:
    """Relays one load authorization through a session that has read the card."""
    return session.load(LoadRequest(authorization, terminal_id, os.urandom(NONCE_SIZE), time))


def issue(
    transport: CardTransport,
    issuer: IssuerKeys,
    card_number: str,
    holder_name: str,
    pin: str,
    loads: tuple[tuple[str, int, dt.date], ...] = (),
    *,
    time: int,
    valid_until: dt.date = dt.date(2031, 12, 31),
    pin_max_tries: int = 3,
) -> tuple[CardCertificate, tuple[LoadReceipt, ...]]:
    """Personalizes a blank card and applies the given (purse, amount, expiry) loads."""
    certificate = personalize(
        transport, issuer, card_number, holder_name, pin, valid_until, pin_max_tries
    )
    session = CardSession(transport, issuer.ca_keys)
    today = business_date(time)
    info = session.read_card(today)
    receipts = []
    for seq, (purse, amount, expiry) in enumerate(loads, start=info.last_load_seq + 1):
        auth = issuer.authorize_load(card_number, seq, purse, amount, expiry, today)
        receipts.append(load(session, auth, time))
    return certificate, tuple(receipts)


def block_request(
    session: CardSession, issuer: IssuerKeys, reason: int, time: int, terminal_id: str
) -> BlockRequest:
    """A block request for the card the session has read (to pass to ``session.block``)."""
    if session.card_number is None:
        raise IssuanceError("read the card first")
    order = issuer.block_order(session.card_number, reason, business_date(time))
    return BlockRequest(order, terminal_id, time)
