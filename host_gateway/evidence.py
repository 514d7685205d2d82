"""Card messages read from a card's log at any terminal (``POST /v1/evidence``).

A terminal that meets a card whose counters the host misses (``wanted`` in ``GET /v1/updates``,
``GET /v1/cards/{number}``) reads them with GET TRANSACTION and sends them here. Each is checked
under the key registered for the card's number and kept once per (card, counter): the same bytes
again are ``known``, other content at a held counter is a second card history (``card_cloned``:
flagged and hotlisted, as for records). A stored message fills the card's counter history and
moves what no record moved:

- a cancellation whose sale the host holds: the sale's shop gives the money back to the purse,
  exactly as if the terminal's void record had arrived (a shop that hid its void loses the sale);
  with no sale held, or one refused, the money comes from suspense;
- a debit no journal holds: from the purse to suspense (``debit_unrecorded``), until the
  terminal's own record arrives and moves it to the shop once (:mod:`host_gateway.ingest.catchup`);
- a load receipt closes its load like a load record.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from host_gateway import counters, gaps, postings
from host_gateway.cards import BLOCK_CLONED, hotlist_card, hotlisted_since
from host_gateway.continuity import movement_rows
from host_gateway.db import bulk_insert, lock_ingest
from host_gateway.display import rupiah
from host_gateway.distribution import note_served
from host_gateway.events import EventRow, record_events
from host_gateway.ingest import catchup as ingest_catchup
from host_gateway.models import (
    Card,
    CardEvidence,
    CardTransaction,
    Load,
    LoadSupersession,
    PurseProof,
    StoredRecord,
    Terminal,
)
from host_gateway.pki import IssuerKeys
from ledger.binary import FormatError
from ledger.cardproofs import (
    CardTransaction as CardMessage,
)
from ledger.cardproofs import (
    DebitProof,
    LoadReceipt,
    VoidProof,
    decode_card_transaction,
)
from ledger.crypto import sha256
from ledger.ids import new_id
from ledger.record import Record

MAX_MESSAGES = 64
KINDS = {DebitProof: "sale", VoidProof: "void", LoadReceipt: "load"}


@dataclass(frozen=True)
class EvidenceResult:
    result: str
    """stored, known or refused."""
    code: str
    message: str
    card_number: str | None = None
    counter: int | None = None


class _RefusedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class EvidenceIntake:
    """One request's messages, in one transaction under the ingest lock."""

    def __init__(self, session: Session, keys: IssuerKeys, terminal_id: str, now: int) -> None:
        self.session, self.keys, self.terminal_id, self.now = session, keys, terminal_id, now
        self.events: list[EventRow] = []
        self.touched: set[str] = set()
        lock_ingest(session)

    def submit(self, messages: list[bytes]) -> list[EvidenceResult]:
        results = [self._one(data) for data in messages]
        record_events(self.session, self.now, self.events)
        note_served(self.session, self.terminal_id, sorted(self.touched))
        gaps.refresh(self.session, self.touched, self.now)
        return results

    def _one(self, data: bytes) -> EvidenceResult:
        try:
            message = decode_card_transaction(data)
        except FormatError as exc:
            return EvidenceResult("refused", "malformed", f"not a card message: {exc}")
        number, counter = message.card_number, message.counter
        try:
            result, code, text = self._decide(message, data)
        except _RefusedError as refused:
            self.events.append(
                EventRow(refused.code, refused.message, self.terminal_id, None, number)
            )
            return EvidenceResult("refused", refused.code, refused.message, number, counter)
        return EvidenceResult(result, code, text, number, counter)

    def _decide(self, message: CardMessage, data: bytes) -> tuple[str, str, str]:
        number, counter = message.card_number, message.counter
        card = self.session.get(Card, number)
        if card is None:
            raise _RefusedError("card_unknown", f"card {number} is not registered here")
        if not message.verify(card.public_key):
            raise _RefusedError(
                "card_signature", f"card {number} counter {counter}: signature does not verify"
            )
        self.touched.add(number)
        digest = sha256(data)
        held = self.session.get(CardTransaction, (number, counter))
        if held is not None and held.source != "settled":
            if held.proof_hash == digest:
                return "known", "known", f"card {number} counter {counter} is already held"
            self._flag_clone(card)
            raise _RefusedError(
                "card_cloned", f"card {number} counter {counter} seen with other content"
            )
        evidence_id = new_id().bytes
        entries, account, code, text = self._money(message, evidence_id)
        if held is not None:  # an operator settled this counter from a stuck intent
            entries.insert(
                0, ingest_catchup.reverse_settlement(self.session, held.record_id, number)
            )
            held.source, held.proof_hash, held.record_id = "evidence", digest, evidence_id
            held.kind = KINDS[type(message)]
        else:
            self.session.add(
                CardTransaction(
                    card_number=number,
                    counter=counter,
                    proof_hash=digest,
                    record_id=evidence_id,
                    kind=KINDS[type(message)],
                    source="evidence",
                )
            )
        self.session.add(
            CardEvidence(
                id=evidence_id,
                card_number=number,
                counter=counter,
                kind=KINDS[type(message)],
                message=data,
                terminal_id=self.terminal_id,
                received_at=self.now,
                account=account,
                recorded_by=None,
            )
        )
        bulk_insert(self.session, PurseProof, _balances(message))
        postings.post(self.session, self.now, entries)
        self.session.flush()
        self.events.append(EventRow(code, text, self.terminal_id, None, number))
        return "stored", code, text

    def _money(
        self, message: CardMessage, evidence_id: bytes
    ) -> tuple[list[postings.Entry], str, str, str]:
        """The entries this message posts, the account it was booked against, its code."""
        number = message.card_number
        where = f"card {number} counter {message.counter} (terminal {message.terminal_id})"
        entry = postings.Entry("evidence", where, evidence_id)
        if isinstance(message, DebitProof):
            for p in message.purses:
                entry.transfer(postings.purse(number, p.code), postings.suspense(p.code), p.amount)
            text = f"{where}: a debit of {rupiah(message.total)} no journal holds; held in suspense"
            return [entry], "suspense", "debit_unrecorded", text
        if isinstance(message, VoidProof):
            shop = self._sale_shop(number, message)
            for p in message.purses:
                payer = postings.suspense(p.code) if shop is None else postings.shop(shop)
                entry.transfer(payer, postings.purse(number, p.code), p.amount)
            if shop is None:
                text = f"{where}: cancellation of counter {message.original_counter} whose sale"
                text += " the host does not hold as accepted; booked against suspense"
                return [entry], "suspense", "void_unmatched", text
            text = f"{where}: cancellation of counter {message.original_counter} read from the"
            text += f" card's log; shop {shop}'s payable reduced by {rupiah(message.total)}"
            return [entry], postings.shop(shop), "void_from_log", text
        return self._load(message, entry, evidence_id)

    def _load(
        self, receipt: LoadReceipt, entry: postings.Entry, evidence_id: bytes
    ) -> tuple[list[postings.Entry], str, str, str]:
        number, code = receipt.card_number, receipt.purse_code
        where = f"card {number} counter {receipt.counter}"
        load = self.session.query(Load).filter_by(card_number=number, load_seq=receipt.load_seq)
        found = load.one_or_none()
        purse = postings.purse(number, code)
        entry.transfer(purse, postings.expired(code), receipt.expired_swept)
        same = found is not None and (found.purse_code, found.amount, found.expiry) == (
            code,
            receipt.amount,
            receipt.expiry,
        )
        if found is None or not same:
            entry.transfer(postings.suspense(code), purse, receipt.amount)
            text = f"{where}: receipt of a load this host did not authorize; in suspense"
            return [entry], "suspense", "load_unknown", text
        carried = self.session.get(LoadSupersession, found.id)
        if found.applied_record is None and carried is not None:
            entry.transfer(postings.suspense(code), purse, receipt.amount)
            text = f"{where}: load {receipt.load_seq} taken after the card ended; in suspense"
            return [entry], "suspense", "load_superseded", text
        if found.applied_record is not None:
            self._flag_clone(self.session.get_one(Card, number))
            raise _RefusedError(
                "load_replay", f"{where}: load {receipt.load_seq} was already applied"
            )
        found.applied_record, found.applied_at = evidence_id, self.now
        found.version = counters.next_value(self.session, counters.LOADS_VERSION)
        entry.transfer(postings.pending(code), purse, receipt.amount)
        text = f"{where}: load {receipt.load_seq} closed from the card's log"
        return [entry], postings.pending(code), "ok", text

    def _sale_shop(self, number: str, void: VoidProof) -> str | None:
        """The shop paid for the debit this cancellation takes back, if the host holds it as an
        accepted sale with the same amounts."""
        held = self.session.get(CardTransaction, (number, void.original_counter))
        if held is None or held.source != "record":
            return None
        record = (
            self.session.query(StoredRecord)
            .filter_by(id=held.record_id, card_number=number, type="sale", status="accepted")
            .one_or_none()
        )
        if record is None:
            return None
        sale = DebitProof.decode(card_message_of(record.data) or b"")
        if {p.code: p.amount for p in sale.purses} != {p.code: p.amount for p in void.purses}:
            return None
        terminal = self.session.get(Terminal, record.terminal_id)
        return None if terminal is None else terminal.shop_id

    def _flag_clone(self, card: Card) -> None:
        if card.number not in hotlisted_since(self.session, [card.number]):
            hotlist_card(
                self.session, self.keys, card.number, BLOCK_CLONED, "two histories", self.now
            )
        card.status = "cloned"
        self.events.append(
            EventRow(
                "card_hotlisted_clone", "cloned card hotlisted", self.terminal_id, None, card.number
            )
        )


def _balances(message: CardMessage) -> list[dict[str, object]]:
    moved: tuple[tuple[str, int, int], ...]
    if isinstance(message, LoadReceipt):
        moved = ((message.purse_code, message.amount, message.balance_after),)
        swept = message.expired_swept
    else:
        moved = tuple((p.code, p.amount, p.balance_after) for p in message.purses)
        swept = 0
    others = tuple((o.code, o.balance) for o in message.others)
    kind = KINDS[type(message)]
    return movement_rows(message.card_number, message.counter, kind, moved, others, swept)


def card_message_of(record_data: bytes) -> bytes | None:
    """The card-signed message a stored record carries (debit or void proof, load receipt)."""
    body = Record.decode(record_data).body
    for name in ("card_proof", "card_receipt"):
        value = body.get(name)
        if isinstance(value, bytes):
            return value
    return None
