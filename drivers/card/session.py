"""The card session: what the sale engine does with a Kartu SSN card, one method per command.

A :class:`CardSession` wraps one connection (any :class:`~drivers.card.transport.CardTransport`)
and the issuer CA keys. :meth:`CardSession.read_card` selects the application and verifies the
card's certificate; from then on every signed answer (debit proof, void proof, load and block
receipts, logged transactions) is verified with the certified card key *and* checked against the
request, so the engine only ever sees proofs it can put in a record.

A sale is three command APDUs: ``read_card``, ``verify_pin``, ``debit``. If the card is pulled
during ``debit`` (a :data:`~drivers.card.transport.OUTCOME_UNKNOWN` error), read the card again
and call :meth:`CardSession.find_transaction` with the request's nonce: it returns the proof if
the card applied the debit, None if it did not, and raises ``TransactionNotFound`` if the card's
log has rolled past it (then it cannot be known).

Errors: :mod:`drivers.card.errors` (refusals by status word, certificate and proof problems) and
:mod:`drivers.card.transport` (reader, service and card presence). All are ``CardError``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from drivers.card.apdu import SW, CommandAPDU, ResponseAPDU, is_wrong_pin
from drivers.card.errors import (
    BadCardProof,
    CardBlocked,
    CardExpired,
    CardNotGenuine,
    CardResponseError,
    CardSessionError,
    CardTerminated,
    NotAllowed,
    PinFormatError,
    refusal,
)
from drivers.card.protocol import (
    CLA_ISO,
    LAST_TRANSACTION,
    BlockRequest,
    CardInfo,
    CardState,
    Commands,
    DebitRequest,
    FindRequest,
    HolderInfo,
    Ins,
    LoadRequest,
    Personalization,
    PinUnblockRequest,
    VoidRequest,
)
from drivers.card.transport import CardTransport
from ledger.binary import FormatError
from ledger.cardproofs import (
    BlockReceipt,
    CardCertificate,
    CardTransaction,
    DebitProof,
    LoadReceipt,
    PinUnblockReceipt,
    VoidProof,
    certificate_signed_by,
    decode_card_transaction,
)
from ledger.crypto import PUBLIC_KEY_SIZE

if TYPE_CHECKING:
    from drivers.card.pinpad import PinPad

MIN_LOG_ENTRIES = 16
"""A card keeps at least its last 16 transactions (GET TRANSACTION can return them)."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class PinStatus:
    """What VERIFY without data says: verified in this session, and tries left."""

    verified: bool
    tries_left: int


class CardSession:
    """One card in the field, talked to through ``transport``; trusts cards certified by
    ``ca_keys`` (CA public keys by key id, as in :class:`ledger.verify.TrustAnchors`)."""

    def __init__(self, transport: CardTransport, ca_keys: Mapping[bytes, bytes]) -> None:
        self._transport = transport
        self._ca_keys = dict(ca_keys)
        self.info: CardInfo | None = None
        """The last SELECT answer."""
        self.certificate: CardCertificate | None = None
        """The card's certificate once :meth:`read_card` verified it."""
        self._counter = 0
        self._balances: dict[str, int] | None = None
        self.session_debit: DebitProof | None = None
        """The debit made in this card session, while the card may still cancel it."""

    # --- reading the card -----------------------------------------------------------------

    def select(self) -> CardInfo:
        """SELECT without any check: what the card says about itself (issuance, diagnostics)."""
        response = self._send(Commands.select(), "SELECT")
        if response.sw not in (SW.OK, SW.CARD_BLOCKED, SW.CARD_TERMINATED):
            raise refusal(response.sw, "SELECT")
        info = self._decode(CardInfo.decode, response.data, "card info")
        self.info, self.certificate = info, None
        self._counter = info.counter
        self._balances = None  # the holder's part comes with the PIN
        self.session_debit = None
        return info

    def read_card(self, today: dt.date) -> CardInfo:
        """SELECT and verify the card is genuine and usable ``today`` (a WITA date).

        Raises CardNotGenuine, CardExpired, CardBlocked or CardTerminated (carrying ``info``).
        After CardBlocked/CardTerminated/CardExpired the certificate is verified, so
        :meth:`get_transaction` and :meth:`find_transaction` still work for recovery.
        """
        info = self.select()
        certificate = info.certificate
        if certificate is None or info.state == CardState.BLANK:
            raise CardNotGenuine("the card is not personalized")
        ca_key = self._ca_keys.get(certificate.issuer_key_id)
        if ca_key is None:
            raise CardNotGenuine(
                f"card certificate is from an unknown CA key {certificate.issuer_key_id.hex()}"
            )
        if not certificate_signed_by(certificate.encode(), ca_key):
            raise CardNotGenuine("card certificate signature does not verify")
        self.certificate = certificate
        if info.state == CardState.BLOCKED:
            raise CardBlocked(SW.CARD_BLOCKED, "the card", info)
        if info.state == CardState.TERMINATED:
            raise CardTerminated(SW.CARD_TERMINATED, "the card", info)
        if today > certificate.valid_until:
            raise CardExpired(f"card certificate expired on {certificate.valid_until}")
        return info

    @property
    def card_number(self) -> str | None:
        return self.certificate.card_number if self.certificate else None

    @property
    def counter(self) -> int:
        """The card's transaction counter as this session last saw it."""
        return self._counter

    @property
    def holder_verified(self) -> bool:
        """The PIN was right in this session: the card's log may be read."""
        return self.info is not None and self.info.holder_known

    # --- PIN ------------------------------------------------------------------------------

    def verify_pin(self, pin: str) -> CardInfo:
        """The card with its holder's part (name, purses, quantity counters), which the card
        tells only after the right PIN. Raises WrongPin (with ``tries_left``), PinBlocked,
        CardBlocked..."""
        command = self._pin_command(lambda: Commands.verify_pin(pin))
        response = self._expect_ok(self._send(command, "the PIN"), "the PIN")
        return self._holder_verified(response)

    def verify_pin_on_pad(self, pad: PinPad, timeout_s: int = 30) -> CardInfo:
        """As :meth:`verify_pin`, with the PIN typed on the reader's own keypad (PC/SC part 10):
        it never passes through this computer. The pad's timeout and cancel raise PinPadError."""
        return self._holder_verified(pad.verify(timeout_s))

    def _holder_verified(self, response: ResponseAPDU) -> CardInfo:
        holder = self._decode(HolderInfo.decode, response.data, "holder data")
        if self.info is None:
            raise CardSessionError("read the card (read_card) before the PIN")
        self.info = self.info.with_holder(holder)
        self._balances = {purse.code: purse.balance for purse in holder.purses}
        return self.info

    def pin_status(self) -> PinStatus:
        status = CommandAPDU(CLA_ISO, Ins.VERIFY_PIN, 0x00, 0x80)
        response = self._send(status, "PIN status")
        if response.sw == SW.OK:
            return PinStatus(True, self.info.pin_tries_left if self.info else 0)
        if is_wrong_pin(response.sw):
            return PinStatus(False, response.sw & 0x0F)
        if response.sw == SW.PIN_BLOCKED:
            return PinStatus(False, 0)
        raise refusal(response.sw, "PIN status")

    def change_pin(self, old: str, new: str) -> None:
        command = self._pin_command(lambda: Commands.change_pin(old, new))
        self._expect_ok(self._send(command, "the PIN change"), "the PIN change")

    @staticmethod
    def _pin_command(build: Callable[[], CommandAPDU]) -> CommandAPDU:
        try:
            return build()
        except FormatError as exc:
            raise PinFormatError(str(exc)) from exc

    # --- value ----------------------------------------------------------------------------

    def debit(self, request: DebitRequest) -> DebitProof:
        """One debit; the returned proof is verified and says exactly what was asked."""
        certificate = self._certified()
        response = self._expect_ok(self._send(Commands.debit(request), "the debit"), "the debit")
        proof = self._decode(DebitProof.decode, response.data, "debit proof")
        self._check_signed(proof, certificate, "debit proof")
        asked = [(code, amount) for code, amount in request.amounts]
        _require(
            proof.terminal_id == request.terminal_id
            and proof.nonce == request.nonce
            and proof.time == request.time
            and proof.basket_digest == request.basket_digest,
            "debit proof is for another request",
        )
        _require([(p.code, p.amount) for p in proof.purses] == asked, "debit amounts differ")
        _require(
            [(q.category, q.quantity) for q in proof.quantities] == list(request.quantities),
            "debit quantities differ",
        )
        self._advance(proof.counter)
        self._check_balances(proof.balances(), {p.code: -p.amount for p in proof.purses})
        self.session_debit = proof
        return proof

    def void(self, request: VoidRequest, original: DebitProof | None = None) -> VoidProof:
        """Cancels the debit made in this card session (the card refuses any other); with
        ``original`` the amounts are checked against it too."""
        certificate = self._certified()
        if self.session_debit is None or request.original_counter != self.session_debit.counter:
            # The card would refuse too (6985): only this session's own last debit.
            raise NotAllowed(SW.CONDITIONS_NOT_SATISFIED, "the cancellation (not this session)")
        response = self._expect_ok(self._send(Commands.void(request), "the void"), "the void")
        proof = self._decode(VoidProof.decode, response.data, "void proof")
        self._check_signed(proof, certificate, "void proof")
        _require(
            proof.terminal_id == request.terminal_id
            and proof.nonce == request.nonce
            and proof.time == request.time
            and proof.original_counter == request.original_counter,
            "void proof is for another request",
        )
        if original is not None:
            _require(
                [(p.code, p.amount) for p in proof.purses]
                == [(p.code, p.amount) for p in original.purses],
                "void amounts differ from the original debit",
            )
        self._advance(proof.counter)
        self._check_balances(proof.balances(), {p.code: p.amount for p in proof.purses})
        self.session_debit = None
        return proof

    def load(self, request: LoadRequest) -> LoadReceipt:
        """Relays an issuer load authorization; returns the card's verified receipt."""
        certificate = self._certified()
        response = self._expect_ok(self._send(Commands.load(request), "the load"), "the load")
        receipt = self._decode(LoadReceipt.decode, response.data, "load receipt")
        self._check_signed(receipt, certificate, "load receipt")
        auth = request.authorization
        _require(
            receipt.terminal_id == request.terminal_id
            and receipt.nonce == request.nonce
            and receipt.time == request.time
            and receipt.load_seq == auth.load_seq
            and receipt.purse_code == auth.purse_code
            and receipt.amount == auth.amount
            and receipt.expiry == auth.expiry,
            "load receipt is for another authorization",
        )
        self._advance(receipt.counter)
        self._check_balances(
            receipt.balances(), {receipt.purse_code: receipt.amount - receipt.expired_swept}
        )
        self.session_debit = None
        return receipt

    def block(self, request: BlockRequest) -> BlockReceipt:
        """Writes an issuer block order to the card; returns its verified block receipt."""
        certificate = self._certified()
        response = self._expect_ok(self._send(Commands.block(request), "the block"), "the block")
        receipt = self._decode(BlockReceipt.decode, response.data, "block receipt")
        self._check_signed(receipt, certificate, "block receipt")
        _require(
            receipt.terminal_id == request.terminal_id
            and receipt.time == request.time
            and receipt.reason == request.order.reason
            and receipt.counter == self._counter,
            "block receipt is for another request",
        )
        return receipt

    def unblock_pin(self, request: PinUnblockRequest) -> PinUnblockReceipt:
        """Relays an issuer PIN-unblock order; returns the card's verified receipt. The holder's
        PIN is unchanged: they have ``order.tries`` tries again."""
        certificate = self._certified()
        what = "the PIN unblock"
        response = self._expect_ok(self._send(Commands.unblock_pin(request), what), what)
        receipt = self._decode(PinUnblockReceipt.decode, response.data, "PIN unblock receipt")
        self._check_signed(receipt, certificate, "PIN unblock receipt")
        _require(
            receipt.terminal_id == request.terminal_id
            and receipt.time == request.time
            and receipt.unblock_seq == request.order.unblock_seq
            and receipt.tries == request.order.tries
            and receipt.counter == self._counter,
            "PIN unblock receipt is for another request",
        )
        if self.info is not None:
            self.info = dataclasses.replace(self.info, pin_tries_left=receipt.tries)
        return receipt

    # --- the log and recovery -------------------------------------------------------------

    def get_transaction(self, counter: int = LAST_TRANSACTION) -> CardTransaction:
        """A logged transaction by card counter (0: the last), signature verified. The card
        answers only after the holder's PIN in this session (PinRequired otherwise)."""
        certificate = self._certified()
        what = "the transaction log"
        response = self._expect_ok(self._send(Commands.get_transaction(counter), what), what)
        message = self._decode(decode_card_transaction, response.data, "logged transaction")
        self._check_signed(message, certificate, "logged transaction")
        if counter != LAST_TRANSACTION:
            _require(message.counter == counter, "the card returned another transaction")
        return message

    def find_transaction(self, nonce: bytes, counter: int) -> CardTransaction | None:
        """The logged transaction a terminal made with ``nonce``, or None: the card never
        applied it. Use after a tear, in a new session, after :meth:`read_card`; needs no PIN
        (only the terminal that made the request knows its nonce).

        ``counter`` is the card counter the transaction would carry (the counter read before
        sending it, plus one). Raises :class:`TransactionNotFound` when the card has counted past
        it but its log no longer reaches back that far: then nobody at the counter can tell
        whether it ran, and the caller must not guess (the host can: docs/card-protocol.md).
        """
        certificate = self._certified()
        if counter > self._counter:
            return None  # the card has not counted that far: it never ran
        what = "the transaction search"
        response = self._send(Commands.find_transaction(FindRequest(nonce, counter)), what)
        if response.sw == SW.RECORD_NOT_FOUND:
            return None
        self._expect_ok(response, what)
        message = self._decode(decode_card_transaction, response.data, "logged transaction")
        self._check_signed(message, certificate, "logged transaction")
        _require(message.nonce == nonce, "the card returned another transaction")
        return message

    # --- issuance -------------------------------------------------------------------------

    def generate_key(self) -> bytes:
        """Makes the card generate its key pair (blank cards only); returns the public key."""
        what = "key generation"
        response = self._expect_ok(self._send(Commands.generate_key(), what), what)
        if len(response.data) != PUBLIC_KEY_SIZE:
            raise CardResponseError(f"public key of {len(response.data)} bytes")
        return response.data

    def personalize(self, personalization: Personalization) -> None:
        what = "personalization"
        self._expect_ok(self._send(Commands.personalize(personalization), what), what)

    # --- plumbing -------------------------------------------------------------------------

    def _send(self, command: CommandAPDU, what: str) -> ResponseAPDU:
        raw = self._transport.transmit(command.encode())
        return self._decode(ResponseAPDU.decode, raw, f"answer to {what}")

    @staticmethod
    def _expect_ok(response: ResponseAPDU, what: str) -> ResponseAPDU:
        if response.sw != SW.OK:
            raise refusal(response.sw, what)
        return response

    @staticmethod
    def _decode(decoder: Callable[[bytes], _T], data: bytes, what: str) -> _T:
        try:
            return decoder(data)
        except FormatError as exc:
            raise CardResponseError(f"malformed {what} from the card: {exc}") from exc

    def _certified(self) -> CardCertificate:
        if self.certificate is None:
            raise CardSessionError("read the card (read_card) before this command")
        return self.certificate

    @staticmethod
    def _check_signed(
        message: CardTransaction | BlockReceipt | PinUnblockReceipt,
        certificate: CardCertificate,
        what: str,
    ) -> None:
        if not message.verify(certificate.public_key):
            raise BadCardProof(f"{what} signature does not verify with the card's key")
        _require(message.card_number == certificate.card_number, f"{what} names another card")

    def _advance(self, counter: int) -> None:
        _require(counter == self._counter + 1, f"card counter jumped to {counter}")
        self._counter = counter

    def _check_balances(self, after: Mapping[str, int], deltas: Mapping[str, int]) -> None:
        """Every purse's balance after = before + what moved (known once the PIN told the
        balances; before that, e.g. a load at presentation, the proof's own figures stand)."""
        if self._balances is not None:
            before = self._balances
            _require(set(after) == set(before) | set(deltas), "the card's purses do not add up")
            for code, balance in after.items():
                expected = before.get(code, 0) + deltas.get(code, 0)
                _require(balance == expected, f"purse {code} balance does not add up")
        self._balances = dict(after)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BadCardProof(message)
