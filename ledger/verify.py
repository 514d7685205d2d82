"""The checks a record must pass, run by the terminal on itself and by the host on ingest.

:func:`verify_record` checks one record against the trust anchors: the terminal's signature, the
card's certificate and signed proof, and that the record says exactly what the card signed.
Rules that need outside context (the catalog, the original sale of a void, the per-card counter
history) are the caller's: the host adds them, the terminal knows them by construction.
:func:`verify_chain` checks sequence and hash links and names the first bad record.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import cbor2

from ledger.binary import FormatError
from ledger.bodies import (
    BlockBody,
    DayCloseBody,
    LoadBody,
    OrderBody,
    PinUnblockBody,
    SaleBody,
    VoidBody,
)
from ledger.cardproofs import (
    BlockOrder,
    BlockReceipt,
    CardCertificate,
    DebitProof,
    LoadAuthorization,
    LoadReceipt,
    PinUnblockOrder,
    PinUnblockReceipt,
    VoidProof,
    certificate_signed_by,
)
from ledger.crypto import SignatureCheck, sha256, verify
from ledger.record import GENESIS_HASH, Record, RecordType

WITA = dt.timezone(dt.timedelta(hours=8), "WITA")


class VerificationError(Exception):
    """A record that must not be accepted; ``code`` is stable for counting and tests."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TrustAnchors:
    """The issuer's public keys by key id."""

    ca_keys: Mapping[bytes, bytes]
    """Keys of the CA that certifies cards and terminals."""
    authority_keys: Mapping[bytes, bytes]
    """Keys that sign loads, block orders, catalogs and hotlists."""


@dataclass(frozen=True)
class VerifiedSale:
    record: Record
    body: SaleBody
    certificate: CardCertificate
    proof: DebitProof


@dataclass(frozen=True)
class VerifiedVoid:
    record: Record
    body: VoidBody
    certificate: CardCertificate
    proof: VoidProof


@dataclass(frozen=True)
class VerifiedLoad:
    record: Record
    body: LoadBody
    certificate: CardCertificate
    authorization: LoadAuthorization
    receipt: LoadReceipt


@dataclass(frozen=True)
class VerifiedBlock:
    record: Record
    body: BlockBody
    certificate: CardCertificate
    order: BlockOrder
    receipt: BlockReceipt


@dataclass(frozen=True)
class VerifiedPinUnblock:
    record: Record
    body: PinUnblockBody
    certificate: CardCertificate
    order: PinUnblockOrder
    receipt: PinUnblockReceipt


@dataclass(frozen=True)
class VerifiedDayClose:
    record: Record
    body: DayCloseBody


Verified = (
    VerifiedSale
    | VerifiedVoid
    | VerifiedLoad
    | VerifiedBlock
    | VerifiedPinUnblock
    | VerifiedDayClose
)


def business_date(unix_seconds: int) -> dt.date:
    """The program runs on Samarinda time (WITA, UTC+8). WITA is a fixed offset, so the date is
    that of the time's WITA day number, looked up once per day (ingest asks several times a
    record)."""
    return _wita_day((unix_seconds + _WITA_SECONDS) // _DAY_SECONDS)


_WITA_SECONDS = int(WITA.utcoffset(None).total_seconds())
_DAY_SECONDS = 86_400


_EPOCH = dt.date(1970, 1, 1)


@functools.lru_cache(maxsize=4_096)
def _wita_day(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=day)


def verify_record(
    record: Record,
    terminal_public_key: bytes,
    anchors: TrustAnchors,
    check: SignatureCheck = verify,
    *,
    card_expiry: bool = True,
) -> Verified:
    """``check`` verifies the terminal's, the card's and the issuer's signatures; the card
    certificate's is always checked for real (its outcome is remembered per certificate).

    ``card_expiry=False`` leaves the certificate's end date to the caller: the record's time is
    the terminal's claim, and the host judges expiry by a time it can trust (its receive time)."""
    if not record.verify_signature(terminal_public_key, check):
        raise VerificationError("terminal_signature", "terminal signature does not verify")
    on = business_date(record.time) if card_expiry else None
    try:
        match record.type:
            case RecordType.SALE:
                return _verify_sale(record, anchors, check, on)
            case RecordType.VOID:
                return _verify_void(record, anchors, check, on)
            case RecordType.LOAD:
                return _verify_load(record, anchors, check, on)
            case RecordType.BLOCK:
                return _verify_block(record, anchors, check)
            case RecordType.PIN_UNBLOCK:
                return _verify_pin_unblock(record, anchors, check)
            case RecordType.DAY_CLOSE:
                return VerifiedDayClose(record, DayCloseBody.from_value(record.body))
    except FormatError as exc:
        raise VerificationError("malformed", str(exc)) from exc
    raise VerificationError("malformed", f"unknown record type {record.type}")


def verify_card_certificate(
    raw: bytes, card_number: str, anchors: TrustAnchors, on: dt.date | None
) -> CardCertificate:
    """The certificate, checked to be ours, for this card and (unless ``on`` is None) valid on
    that date."""
    certificate = _decode_certificate(bytes(raw))
    ca_key = anchors.ca_keys.get(certificate.issuer_key_id)
    if ca_key is None or not certificate_signed_by(bytes(raw), ca_key):
        raise VerificationError("card_not_issued", "card certificate is not signed by our CA")
    if certificate.card_number != card_number:
        raise VerificationError("card_mismatch", "certificate is for another card number")
    if on is not None and on > certificate.valid_until:
        raise VerificationError(
            "card_expired", f"card certificate expired {certificate.valid_until}"
        )
    return certificate


@functools.lru_cache(maxsize=65536)
def _decode_certificate(raw: bytes) -> CardCertificate:
    return CardCertificate.decode(raw)  # immutable; a FormatError is raised, never cached


def _card_proof_matches(
    record: Record, card_number: str, proof_card: str, proof_terminal: str
) -> None:
    if proof_card != card_number:
        raise VerificationError("card_mismatch", "card proof is for another card")
    if proof_terminal != record.terminal_id:
        raise VerificationError("terminal_mismatch", "card proof names another terminal")


def _verify_sale(
    record: Record, anchors: TrustAnchors, check: SignatureCheck, on: dt.date | None
) -> VerifiedSale:
    body = SaleBody.from_value(record.body)
    certificate = verify_card_certificate(body.card_certificate, body.card_number, anchors, on)
    proof = DebitProof.decode(body.card_proof)
    if not proof.verify(certificate.public_key, check):
        raise VerificationError("card_signature", "debit proof signature does not verify")
    _card_proof_matches(record, body.card_number, proof.card_number, proof.terminal_id)
    if proof.basket_digest != _basket_digest(record, body):
        raise VerificationError("basket_mismatch", "record lines differ from what the card signed")
    signed_amounts = {p.code: p.amount for p in proof.purses}  # codes distinct: decode checks
    if any(a <= 0 for a in signed_amounts.values()):
        raise VerificationError("amount_mismatch", "card proof has an empty purse")
    if signed_amounts != body.purse_totals():
        raise VerificationError("amount_mismatch", "purse amounts differ from what the card signed")
    for line in body.lines:
        if line.unit_price != min(line.shelf_price, line.het):
            raise VerificationError("het_exceeded", f"line {line.gtin} charged above HET")
    base_by_category: dict[int, int] = {}
    for line in body.lines:
        base_by_category[line.category] = (
            base_by_category.get(line.category, 0) + line.base_quantity
        )
    for qty in proof.quantities:
        if base_by_category.get(qty.category) != qty.quantity:
            raise VerificationError(
                "quantity_mismatch", f"category {qty.category} quantity differs from the lines"
            )
    return VerifiedSale(record, body, certificate, proof)


def _basket_digest(record: Record, body: SaleBody) -> bytes:
    """The digest of the basket exactly as the record carries it. A record decoded from its
    canonical bytes holds its lines as canonical values, keys already in order, so they are
    hashed as they stand instead of being rebuilt from the typed lines and sorted again (a host
    does this for every record). The typed lines checked below were parsed from these very
    values, so the card's digest binds both; tests/unit/test_decode_reuse.py shows they agree."""
    if not record.decoded:
        return body.digest()
    value = record.body
    basket = {
        "cash": value["cash"],
        "lines": value["lines"],
        "catalog_version": value["catalog_version"],
    }
    return sha256(cbor2.dumps(basket))


def _verify_void(
    record: Record, anchors: TrustAnchors, check: SignatureCheck, on: dt.date | None
) -> VerifiedVoid:
    body = VoidBody.from_value(record.body)
    certificate = verify_card_certificate(body.card_certificate, body.card_number, anchors, on)
    proof = VoidProof.decode(body.card_proof)
    if not proof.verify(certificate.public_key, check):
        raise VerificationError("card_signature", "void proof signature does not verify")
    _card_proof_matches(record, body.card_number, proof.card_number, proof.terminal_id)
    return VerifiedVoid(record, body, certificate, proof)


def _authority_verifies(
    order: LoadAuthorization | BlockOrder | PinUnblockOrder,
    anchors: TrustAnchors,
    check: SignatureCheck,
) -> bool:
    key = anchors.authority_keys.get(order.issuer_key_id)
    return key is not None and order.verify(key, check)


def _verify_load(
    record: Record, anchors: TrustAnchors, check: SignatureCheck, on: dt.date | None
) -> VerifiedLoad:
    body = LoadBody.from_value(record.body)
    authorization = LoadAuthorization.decode(body.authorization)
    if not _authority_verifies(authorization, anchors, check):
        raise VerificationError(
            "issuer_signature", "load authorization is not signed by the issuer"
        )
    # A load may be applied after the card certificate expired? No: an expired card takes no value.
    certificate = verify_card_certificate(body.card_certificate, body.card_number, anchors, on)
    receipt = LoadReceipt.decode(body.card_receipt)
    if not receipt.verify(certificate.public_key, check):
        raise VerificationError("card_signature", "load receipt signature does not verify")
    _card_proof_matches(record, body.card_number, receipt.card_number, receipt.terminal_id)
    same = (
        authorization.card_number == body.card_number
        and receipt.load_seq == authorization.load_seq
        and receipt.purse_code == authorization.purse_code
        and receipt.amount == authorization.amount
        and receipt.expiry == authorization.expiry
    )
    if not same:
        raise VerificationError("load_mismatch", "load receipt does not match its authorization")
    return VerifiedLoad(record, body, certificate, authorization, receipt)


_O = TypeVar("_O", BlockOrder, PinUnblockOrder)
_R = TypeVar("_R", BlockReceipt, PinUnblockReceipt)


def _verify_order(
    body: OrderBody,
    record: Record,
    anchors: TrustAnchors,
    check: SignatureCheck,
    kinds: tuple[type[_O], type[_R]],
) -> tuple[CardCertificate, _O, _R]:
    """An issuer order relayed to a card: the issuer's order, our card, the card's receipt."""
    order_kind, receipt_kind = kinds
    order = order_kind.decode(body.order)
    if not _authority_verifies(order, anchors, check):
        raise VerificationError("issuer_signature", "card order is not signed by the issuer")
    certificate = CardCertificate.decode(body.card_certificate)
    ca_key = anchors.ca_keys.get(certificate.issuer_key_id)
    if (
        ca_key is None
        or not certificate_signed_by(bytes(body.card_certificate), ca_key)
        or certificate.card_number != body.card_number
    ):
        raise VerificationError("card_not_issued", "card certificate is not signed by our CA")
    receipt = receipt_kind.decode(body.card_receipt)
    if not receipt.verify(certificate.public_key, check):
        raise VerificationError("card_signature", "card receipt signature does not verify")
    _card_proof_matches(record, body.card_number, receipt.card_number, receipt.terminal_id)
    if order.card_number != body.card_number:
        raise VerificationError("card_mismatch", "card order is for another card")
    return certificate, order, receipt


def _verify_block(record: Record, anchors: TrustAnchors, check: SignatureCheck) -> VerifiedBlock:
    body = BlockBody.from_value(record.body)
    kinds = (BlockOrder, BlockReceipt)
    certificate, order, receipt = _verify_order(body, record, anchors, check, kinds)
    return VerifiedBlock(record, body, certificate, order, receipt)


def _verify_pin_unblock(
    record: Record, anchors: TrustAnchors, check: SignatureCheck
) -> VerifiedPinUnblock:
    body = PinUnblockBody.from_value(record.body)
    kinds = (PinUnblockOrder, PinUnblockReceipt)
    certificate, order, receipt = _verify_order(body, record, anchors, check, kinds)
    if (receipt.unblock_seq, receipt.tries) != (order.unblock_seq, order.tries):
        raise VerificationError("order_mismatch", "PIN unblock receipt is for another order")
    return VerifiedPinUnblock(record, body, certificate, order, receipt)


@dataclass
class ChainReport:
    checked: int = 0
    first_bad_seq: int | None = None
    reason: str | None = None
    verified: list[Verified] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


def verify_chain(
    records: Iterable[Record],
    terminal_public_key: bytes,
    anchors: TrustAnchors,
    *,
    start_seq: int = 1,
    start_prev: bytes = GENESIS_HASH,
    keep: bool = False,
) -> ChainReport:
    """Walk records in order; stop at the first one that breaks the chain or fails verification."""
    report = ChainReport()
    expected_seq, expected_prev = start_seq, start_prev
    for record in records:
        problem: str | None = None
        if record.seq != expected_seq:
            problem = f"sequence {record.seq} where {expected_seq} was expected"
        elif record.prev_hash != expected_prev:
            problem = "previous-record hash does not match (record removed, reordered or altered)"
        else:
            try:
                verified = verify_record(record, terminal_public_key, anchors)
            except VerificationError as exc:
                problem = str(exc)
            else:
                if keep:
                    report.verified.append(verified)
        if problem is not None:
            report.first_bad_seq = expected_seq if record.seq != expected_seq else record.seq
            report.reason = problem
            return report
        report.checked += 1
        expected_seq, expected_prev = record.seq + 1, record.hash()
    return report
