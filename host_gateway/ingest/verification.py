"""The part of ingest that needs no database: decode, signatures, card proofs (ledger.verify).

It runs in worker processes (signature checks are most of the cost) and returns :class:`Facts`,
small picklable summaries that the stateful rules (:mod:`host_gateway.ingest.rules`) decide on.
A rejection here is ``stored`` (kept under the record id, returned again on retry) only when the
terminal's signature verifies: bytes the terminal did not sign must not occupy its record id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass

from ledger.binary import FormatError
from ledger.bodies import SaleBody
from ledger.cardproofs import CardCertificate, DebitProof
from ledger.crypto import Domain, SignatureCheck, sha256, verify
from ledger.record import Record
from ledger.verify import (
    TrustAnchors,
    VerificationError,
    Verified,
    VerifiedBlock,
    VerifiedDayClose,
    VerifiedLoad,
    VerifiedPinUnblock,
    VerifiedSale,
    VerifiedVoid,
    verify_record,
)

CERTIFICATE_SLACK = 3_600
"""Seconds a record may claim to predate its terminal certificate (clock drift at enrollment)."""

_GENUINE_CARD_REFUSALS = {"basket_mismatch", "amount_mismatch", "het_exceeded", "quantity_mismatch"}
"""Refusals where the card's own signed proof is genuine: the card did move that money."""


@dataclass(slots=True)
class Facts:
    index: int
    record_id: bytes
    ok: bool
    code: str = "ok"
    message: str = ""
    stored: bool = False
    seq: int = 0
    type: str = ""
    time: int = 0
    prev_hash: bytes = b""
    hash: bytes = b""
    card_number: str | None = None
    card_counter: int | None = None
    card_key: bytes = b""
    """The key the card's CA certificate names; ingest compares it with the registered one."""
    proof_hash: bytes = b""
    purses: tuple[tuple[str, int, int], ...] = ()
    """(purse code, amount, balance after) exactly as the card signed them."""
    quantities: tuple[tuple[int, int], ...] = ()
    """(category, used this period after) as the card signed them."""
    periods: tuple[int, ...] = ()
    """The period (YYMM) of each quantity movement, in the same order."""
    proof_time: int = 0
    """The time the card signed (the terminal's claim, bound by the card's signature)."""
    card_valid_until: dt.date | None = None
    """The card certificate's end date: ingest judges it by a time the host trusts."""
    catalog_version: int = 0
    lines: tuple[tuple[str, int, int, int, tuple[str, ...]], ...] = ()
    """(gtin, category, unit base quantity, HET, purse codes that paid) per sale line."""
    original_id: bytes = b""
    original_seq: int = 0
    original_counter: int = 0
    load_seq: int = 0
    authorization: bytes = b""
    swept: int = 0
    block_order: bytes = b""
    unblock_order: bytes = b""
    """A pin_unblock record's order, and the card's receipt for it (``card_receipt``)."""
    unblock_seq: int = 0
    card_receipt: bytes = b""
    others: tuple[tuple[str, int], ...] = ()
    """(purse code, balance) of the purses the card did not move: with ``purses``, every purse
    on the card after the transaction (continuity across counter gaps)."""

    def __reduce__(self) -> tuple[Callable[..., Facts], tuple[object, ...]]:
        # Facts cross from the verifier processes by the thousand: a plain tuple of the fields
        # pickles at a fraction of the cost of the slots dataclass default.
        return Facts, _fact_values(self)

    def reject(self, code: str, message: str, *, stored: bool) -> Facts:
        self.ok, self.code, self.message, self.stored = False, code, message, stored
        return self


_fact_values = operator.attrgetter(*(f.name for f in dataclasses.fields(Facts)))


@dataclass(frozen=True)
class TerminalKey:
    terminal_id: str
    public_key: bytes
    issued: int
    valid_until: int


def verify_items(
    terminal: TerminalKey, anchors: TrustAnchors, items: list[tuple[int, bytes, bytes]]
) -> list[Facts]:
    """Check (index, claimed record id, encoded record) items; one Facts each, same order.

    Two passes, for speed: the first runs every check with the signature checks only written
    down (taken as valid), the second verifies them in one tight loop. Parsing and signature
    arithmetic each keep their code and tables in the CPU caches instead of evicting each other
    record by record (about 30 us a record on a 2-core host).

    The terminal's signature is checked once per contiguous run (docs/api.md, "What ingest
    verifies"): a record's signed bytes hold the hash of the record before it, so the signature
    of a run's last record covers every byte of the run. Every card and issuer signature is
    still checked. An item with any bad signature, or in a run whose last signature fails, is
    then checked again record by record, so its outcome is exactly what one-by-one checking
    gives (the first failing check names the refusal, and only the bad record is refused)."""
    deferred = _DeferredChecks()
    facts = []
    for position, (index, rid, data) in enumerate(items):
        deferred.item = position
        try:
            facts.append(_verify_one(terminal, anchors, index, rid, data, deferred.check))
        except Exception:
            # Only bytes that a bad signature would have stopped earlier can surprise a later
            # check: the plain pass decides this item (and raises only if it raises there too).
            deferred.fail(position)
            facts.append(Facts(index, rid, ok=False))
    for position in deferred.failed_items(run_tails(facts)):
        index, rid, data = items[position]
        facts[position] = _verify_one(terminal, anchors, index, rid, data, verify)
    return facts


def run_tails(facts: list[Facts]) -> list[int]:
    """For each position, the last record of the contiguous run it belongs to: the record that
    has ``seq + 1`` and ``prev`` = this record's hash, followed as far as it goes (itself when
    no record follows it here). Facts without a seq (refused before the chain was read) are
    runs of one."""
    follows = {(f.seq - 1, f.prev_hash): position for position, f in enumerate(facts) if f.seq}
    tails = list(range(len(facts)))
    for position in sorted(range(len(facts)), key=lambda p: -facts[p].seq):
        f = facts[position]
        successor = follows.get((f.seq, f.hash)) if f.seq else None
        if successor is not None:
            tails[position] = tails[successor]
    return tails


class _DeferredChecks:
    """A SignatureCheck that says yes and remembers what it was asked, per item."""

    def __init__(self) -> None:
        self.item = 0
        self._checks: list[tuple[int, bytes, Domain, bytes, bytes]] = []
        self._failed: dict[int, None] = {}

    def check(self, public_key: bytes, domain: Domain, message: bytes, signature: bytes) -> bool:
        self._checks.append((self.item, public_key, domain, message, signature))
        return True

    def fail(self, item: int) -> None:
        self._failed[item] = None

    def failed_items(self, tails: list[int]) -> list[int]:
        """Items to check again: any of their signatures is bad, their first pass raised, or
        the terminal signature of their run's last record (which stood for theirs) failed."""
        failed = self._failed
        record_domain = Domain.TERMINAL_RECORD
        terminal_ok: set[int] = set()
        for item, public_key, domain, message, signature in self._checks:
            if item in failed:
                continue
            if domain is record_domain:
                if tails[item] != item:
                    continue  # the run's last record's signature covers these bytes
                if verify(public_key, domain, message, signature):
                    terminal_ok.add(item)
                    continue
                failed[item] = None
            elif not verify(public_key, domain, message, signature):
                failed[item] = None
        for item, tail in enumerate(tails):
            if tail != item and tail not in terminal_ok:
                failed[item] = None
        return sorted(failed)


def _verify_one(
    terminal: TerminalKey,
    anchors: TrustAnchors,
    index: int,
    record_id: bytes,
    data: bytes,
    check: SignatureCheck,
) -> Facts:
    facts = Facts(index, record_id, ok=True)
    try:
        record = Record.decode(data)
    except FormatError as exc:
        return facts.reject("malformed", f"record does not decode: {exc}", stored=False)
    if record.id.bytes != record_id:
        return facts.reject(
            "malformed", "record id differs from the id it was sent under", stored=False
        )
    if record.terminal_id != terminal.terminal_id:
        return facts.reject(
            "terminal_mismatch",
            f"record of terminal {record.terminal_id} sent by {terminal.terminal_id}",
            stored=False,
        )
    facts.seq, facts.type, facts.time = record.seq, str(record.type), record.time
    facts.prev_hash, facts.hash = record.prev_hash, sha256(data)
    try:
        verified = verify_record(record, terminal.public_key, anchors, check, card_expiry=False)
    except VerificationError as exc:
        signed = exc.code != "terminal_signature"
        if exc.code in _GENUINE_CARD_REFUSALS:
            _genuine_sale_evidence(facts, record)
        return facts.reject(exc.code, exc.message, stored=signed)
    if not terminal.issued - CERTIFICATE_SLACK <= record.time <= terminal.valid_until:
        return facts.reject(
            "terminal_certificate",
            "record time is outside the terminal certificate's validity",
            stored=True,
        )
    _fill(facts, verified)
    return facts


def _genuine_sale_evidence(facts: Facts, record: Record) -> None:
    """verify_record checks certificate and proof signature before these refusals."""
    body = SaleBody.from_value(record.body)
    proof = DebitProof.decode(body.card_proof)
    facts.card_number, facts.card_counter = proof.card_number, proof.counter
    facts.card_key = CardCertificate.decode(body.card_certificate).public_key
    facts.proof_hash = sha256(body.card_proof)
    facts.purses = tuple((p.code, p.amount, p.balance_after) for p in proof.purses)
    facts.others = tuple((o.code, o.balance) for o in proof.others)


def _fill(facts: Facts, verified: Verified) -> None:
    if not isinstance(verified, VerifiedDayClose):
        facts.card_key = verified.certificate.public_key
        facts.card_valid_until = verified.certificate.valid_until
    match verified:
        case VerifiedSale(body=body, proof=proof):
            facts.card_number, facts.card_counter = body.card_number, proof.counter
            facts.proof_hash = sha256(body.card_proof)
            facts.purses = tuple((p.code, p.amount, p.balance_after) for p in proof.purses)
            facts.others = tuple((o.code, o.balance) for o in proof.others)
            facts.quantities = tuple((q.category, q.used_after) for q in proof.quantities)
            facts.periods = tuple(q.period for q in proof.quantities)
            facts.proof_time = proof.time
            facts.catalog_version = body.catalog_version
            facts.lines = tuple(
                (
                    line.gtin,
                    line.category,
                    line.unit_base_quantity,
                    line.het,
                    tuple(code for code, _ in line.paid),
                )
                for line in body.lines
            )
        case VerifiedVoid(body=body, proof=proof):
            facts.card_number, facts.card_counter = body.card_number, proof.counter
            facts.proof_hash = sha256(body.card_proof)
            facts.purses = tuple((p.code, p.amount, p.balance_after) for p in proof.purses)
            facts.others = tuple((o.code, o.balance) for o in proof.others)
            facts.original_id, facts.original_seq = body.original_id.bytes, body.original_seq
            facts.original_counter = proof.original_counter
            facts.proof_time = proof.time
        case VerifiedLoad(body=body, receipt=receipt):
            facts.card_number, facts.card_counter = body.card_number, receipt.counter
            facts.proof_hash = sha256(body.card_receipt)
            facts.purses = ((receipt.purse_code, receipt.amount, receipt.balance_after),)
            facts.load_seq, facts.authorization = receipt.load_seq, body.authorization
            facts.swept = receipt.expired_swept
            facts.proof_time = receipt.time
            facts.others = tuple((o.code, o.balance) for o in receipt.others)
        case VerifiedBlock(body=body, receipt=receipt):
            facts.card_number, facts.card_counter = body.card_number, receipt.counter
            facts.proof_hash = sha256(body.card_receipt)
            facts.block_order = body.order
            facts.proof_time = receipt.time
        case VerifiedPinUnblock(body=body, receipt=receipt):
            facts.card_number, facts.card_counter = body.card_number, receipt.counter
            facts.proof_hash = sha256(body.card_receipt)
            facts.unblock_order, facts.unblock_seq = body.order, receipt.unblock_seq
            facts.card_receipt = body.card_receipt
            facts.proof_time = receipt.time
        case VerifiedDayClose():
            pass
