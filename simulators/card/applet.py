"""The Kartu SSN card application: one command APDU in, one answer and maybe a new state out.

Pure logic, no I/O: :meth:`CardApplet.process` never changes the applet; it returns an
:class:`Outcome` that the caller persists and then adopts with :meth:`CardApplet.commit`. That
is what makes tears testable (persist and not answer, answer and leave...) and keeps the card
atomic. A bug inside a command is answered 6F00 and changes nothing: no exception escapes.
docs/card-protocol.md is the reference for every rule here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from drivers.card.apdu import SW, CommandAPDU, wrong_pin
from drivers.card.protocol import (
    AID,
    CLA_ISO,
    CLA_PROPRIETARY,
    BlockRequest,
    CardInfo,
    CardState,
    DebitRequest,
    FindRequest,
    HolderInfo,
    Ins,
    LoadRequest,
    Personalization,
    PinUnblockRequest,
    VoidRequest,
    pin_from_block,
)
from ledger.binary import BinaryReader, FormatError
from ledger.crypto import SigningKey
from simulators.card import operations
from simulators.card.operations import Refusal
from simulators.card.state import CardData, pin_digest

log = logging.getLogger(__name__)

_T = TypeVar("_T")

PIN_BLOCK_SIZE = 8
FIND_REQUEST_SIZE = 20
SEED_SIZE = 32

_STATE_REFUSAL = {
    CardState.BLANK: SW.CONDITIONS_NOT_SATISFIED,
    CardState.BLOCKED: SW.CARD_BLOCKED,
    CardState.TERMINATED: SW.CARD_TERMINATED,
}


@dataclass(frozen=True)
class Outcome:
    """The answer to one command and what it does to the card."""

    response: bytes
    data: CardData | None
    """The new persistent state, or None when the command changed nothing persistent."""
    selected: bool
    pin_verified: bool
    crypto_ops: int = 0
    """Public-key operations the command needed (signatures, verifications, key generation)."""
    holder_verified: bool = False
    """The PIN was right once in this session: the log may be read (a debit consumes
    ``pin_verified``, not this)."""
    session_debit: int | None = None
    """The counter of a debit made in this session that may still be cancelled."""
    staged: CardData | None = None
    """State written *before* the command does its work (the PIN try counter, decremented
    before the PIN is compared): a card torn at the right instant cannot save a wrong try."""

    @property
    def sw(self) -> int:
        return int.from_bytes(self.response[-2:], "big")


_Handler = Callable[["CardApplet", CommandAPDU], Outcome]


class _Keep:
    """Marker: the command leaves the session's cancellable debit as it is."""


_KEEP = _Keep()


class CardApplet:
    """The card application of one card for one power-on session."""

    def __init__(self, data: CardData, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self.data = data
        self.selected = False
        self.pin_verified = False
        self.holder_verified = False
        self.session_debit: int | None = None
        self._random_bytes = random_bytes
        self._key: SigningKey | None = None
        self._key_seed: bytes | None = None

    def power_on(self) -> None:
        """A reset or a new power-on: nothing selected, no PIN verified, nothing cancellable."""
        self.selected = False
        self.pin_verified = False
        self.holder_verified = False
        self.session_debit = None

    def commit(self, outcome: Outcome) -> None:
        """Adopts the outcome once its state is safely stored."""
        if outcome.data is not None:
            self.data = outcome.data
        self.selected = outcome.selected
        self.pin_verified = outcome.pin_verified
        self.holder_verified = outcome.holder_verified
        self.session_debit = outcome.session_debit

    def process(self, raw: bytes) -> Outcome:
        try:
            return self._process(raw)
        except Refusal as refusal:
            return self._answer(refusal.sw, data=refusal.data)
        except Exception:  # a card never throws: any bug is 6F00 and no change
            log.exception("card application error on %s", raw[:4].hex())
            return self._answer(SW.INTERNAL_ERROR)

    # --- dispatch -------------------------------------------------------------------------

    def _process(self, raw: bytes) -> Outcome:
        try:
            command = CommandAPDU.decode(raw)
        except FormatError:
            return self._answer(SW.WRONG_LENGTH)
        if command.cla not in (CLA_ISO, CLA_PROPRIETARY):
            return self._answer(SW.CLA_NOT_SUPPORTED)
        entry = _COMMANDS.get(command.ins)
        if entry is None:
            return self._answer(SW.INS_NOT_SUPPORTED)
        cla, p1p2, handler = entry
        if command.cla != cla:
            return self._answer(SW.CLA_NOT_SUPPORTED)
        if (command.p1, command.p2) != p1p2:
            return self._answer(SW.WRONG_P1P2)
        if command.ins != Ins.SELECT and not self.selected:
            return self._answer(SW.CONDITIONS_NOT_SATISFIED)
        return handler(self, command)

    def _answer(
        self,
        sw: int,
        payload: bytes = b"",
        *,
        data: CardData | None = None,
        selected: bool | None = None,
        pin_verified: bool | None = None,
        crypto_ops: int = 0,
        holder_verified: bool | None = None,
        session_debit: int | _Keep | None = _KEEP,
        staged: CardData | None = None,
    ) -> Outcome:
        if selected is False:  # a new selection (or none) ends the card session
            pin_verified = holder_verified = False
            session_debit = None
        return Outcome(
            response=payload + sw.to_bytes(2, "big"),
            data=data,
            selected=self.selected if selected is None else selected,
            pin_verified=self.pin_verified if pin_verified is None else pin_verified,
            crypto_ops=crypto_ops,
            holder_verified=self.holder_verified if holder_verified is None else holder_verified,
            session_debit=self.session_debit if isinstance(session_debit, _Keep) else session_debit,
            staged=staged,
        )

    def _require(self, *states: CardState) -> None:
        if self.data.state not in states:
            raise Refusal(_STATE_REFUSAL.get(self.data.state, SW.CONDITIONS_NOT_SATISFIED))

    def _signing_key(self) -> SigningKey:
        seed = self.data.key_seed
        if seed is None:
            raise Refusal(SW.CONDITIONS_NOT_SATISFIED)
        if self._key is None or self._key_seed != seed:
            self._key, self._key_seed = SigningKey.from_seed(seed), seed
        return self._key

    @staticmethod
    def _decode(decoder: Callable[[bytes], _T], data: bytes) -> _T:
        if not data:
            raise Refusal(SW.WRONG_LENGTH)
        try:
            return decoder(data)
        except FormatError as exc:
            raise Refusal(SW.WRONG_DATA) from exc

    # --- commands -------------------------------------------------------------------------

    def _select(self, command: CommandAPDU) -> Outcome:
        if not command.data:
            return self._answer(SW.WRONG_LENGTH, selected=False, pin_verified=False)
        if command.data != AID:
            return self._answer(SW.APPLICATION_NOT_FOUND, selected=False, pin_verified=False)
        data = self.data
        info = CardInfo(
            state=data.state,
            pin_tries_left=data.pin_tries_left,
            counter=data.counter,
            last_load_seq=data.last_load_seq,
            certificate=data.certificate,
            trusted_date=data.trusted_date,
        )
        sw = {
            CardState.BLOCKED: SW.CARD_BLOCKED,
            CardState.TERMINATED: SW.CARD_TERMINATED,
        }.get(data.state, SW.OK)
        # A new session: nothing verified, nothing cancellable.
        return Outcome(
            response=info.encode() + sw.to_bytes(2, "big"),
            data=None,
            selected=True,
            pin_verified=False,
        )

    def _verify_pin(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        if self.data.pin_tries_left == 0:
            return self._answer(SW.PIN_BLOCKED)
        if not command.data:
            return self._answer(SW.OK if self.pin_verified else wrong_pin(self.data.pin_tries_left))
        if len(command.data) != PIN_BLOCK_SIZE:
            return self._answer(SW.WRONG_LENGTH)
        pin = self._decode(pin_from_block, command.data)
        checked = self._check_pin(pin)
        if checked.sw != SW.OK:
            return checked
        # The holder's part of the card is told only now, to whoever knows the PIN.
        holder = HolderInfo(self.data.holder_name, self.data.purses, self.data.quantities)
        return dataclasses.replace(checked, response=holder.encode() + checked.response)

    def _check_pin(self, pin: str) -> Outcome:
        """Decrement before compare: the try is spent (``staged``, written first) before the
        PIN is compared, and given back only by the second write of a right PIN."""
        data = self.data
        spent = data.replace(pin_tries_left=data.pin_tries_left - 1)
        if data.pin_matches(pin):
            reset = data.replace(pin_tries_left=data.pin_max_tries)
            return self._answer(
                SW.OK, data=reset, staged=spent, pin_verified=True, holder_verified=True
            )
        left = spent.pin_tries_left
        return self._answer(wrong_pin(left), data=spent, staged=spent, pin_verified=False)

    def _change_pin(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        if self.data.pin_tries_left == 0:
            return self._answer(SW.PIN_BLOCKED)
        if len(command.data) != 2 * PIN_BLOCK_SIZE:
            return self._answer(SW.WRONG_LENGTH)
        old = self._decode(pin_from_block, command.data[:PIN_BLOCK_SIZE])
        new = self._decode(pin_from_block, command.data[PIN_BLOCK_SIZE:])
        checked = self._check_pin(old)
        if checked.sw != SW.OK:
            return checked
        data = self.data.replace(
            pin_hash=pin_digest(self.data.pin_salt, new), pin_tries_left=self.data.pin_max_tries
        )
        return self._answer(
            SW.OK, data=data, staged=checked.staged, pin_verified=True, holder_verified=True
        )

    def _debit(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        if self.data.pin_tries_left == 0:
            return self._answer(SW.PIN_BLOCKED)
        if not self.pin_verified:
            return self._answer(SW.PIN_REQUIRED)
        request = self._decode(DebitRequest.decode, command.data)
        data, proof = operations.debit(self.data, request, self._signing_key())
        # One PIN, one debit: the holder approves each payment. The debit may be cancelled
        # in this session only, before anything else happens.
        return self._answer(
            SW.OK,
            proof.encode(),
            data=data,
            pin_verified=False,
            crypto_ops=1,
            session_debit=proof.counter,
        )

    def _void(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        request = self._decode(VoidRequest.decode, command.data)
        data, proof = operations.void(self.data, request, self._signing_key(), self.session_debit)
        return self._answer(SW.OK, proof.encode(), data=data, crypto_ops=1, session_debit=None)

    def _load(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        request = self._decode(LoadRequest.decode, command.data)
        data, receipt = operations.load(self.data, request, self._signing_key())
        return self._answer(SW.OK, receipt.encode(), data=data, crypto_ops=2, session_debit=None)

    def _block(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE, CardState.BLOCKED)
        request = self._decode(BlockRequest.decode, command.data)
        data, receipt = operations.block(self.data, request, self._signing_key())
        return self._answer(SW.OK, receipt.encode(), data=data, crypto_ops=2)

    def _unblock_pin(self, command: CommandAPDU) -> Outcome:
        """An issuer-blocked card stays blocked: only an ACTIVE card's PIN tries come back."""
        self._require(CardState.ACTIVE)
        request = self._decode(PinUnblockRequest.decode, command.data)
        data, receipt = operations.unblock_pin(self.data, request, self._signing_key())
        changed = data if data is not self.data else None
        return self._answer(SW.OK, receipt.encode(), data=changed, crypto_ops=2)

    def _get_transaction(self, command: CommandAPDU) -> Outcome:
        """The log by counter: the holder's history, after the PIN in this session only."""
        if len(command.data) != 4:
            return self._answer(SW.WRONG_LENGTH)
        if not self.holder_verified:
            return self._answer(SW.PIN_REQUIRED)
        counter = BinaryReader(command.data).u32()
        log_ = self.data.log
        entry = (log_[-1] if log_ else None) if counter == 0 else self.data.find_log(counter)
        if entry is None:
            return self._answer(SW.RECORD_NOT_FOUND)
        return self._answer(SW.OK, entry.raw)

    def _find_transaction(self, command: CommandAPDU) -> Outcome:
        """The logged message with the asker's own nonce (any state, no PIN): 6A83 when the
        card provably never applied it, 9405 when its log no longer reaches back that far."""
        if len(command.data) != FIND_REQUEST_SIZE:
            return self._answer(SW.WRONG_LENGTH)
        request = self._decode(FindRequest.decode, command.data)
        log_ = self.data.log
        entry = next((e for e in log_ if e.message.nonce == request.nonce), None)
        if entry is not None:
            return self._answer(SW.OK, entry.raw)
        if self.data.counter < request.expected_counter:
            return self._answer(SW.RECORD_NOT_FOUND)
        if log_ and log_[0].counter <= request.expected_counter:
            return self._answer(SW.RECORD_NOT_FOUND)  # its counter went to another transaction
        return self._answer(SW.OUT_OF_LOG)

    def _generate_key(self, command: CommandAPDU) -> Outcome:
        if command.data:
            return self._answer(SW.WRONG_LENGTH)
        self._require(CardState.BLANK)
        seed = self._random_bytes(SEED_SIZE)
        public_key = SigningKey.from_seed(seed).public_key
        return self._answer(SW.OK, public_key, data=self.data.replace(key_seed=seed), crypto_ops=1)

    def _personalize(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.BLANK)
        personalization = self._decode(Personalization.decode, command.data)
        key = self._signing_key()
        if personalization.certificate.public_key != key.public_key:
            return self._answer(SW.WRONG_DATA)
        data = self.data.replace(
            state=CardState.ACTIVE,
            certificate=personalization.certificate,
            holder_name=personalization.holder_name,
            authority_key=personalization.authority_public_key,
            pin_hash=pin_digest(self.data.pin_salt, personalization.pin),
            pin_max_tries=personalization.pin_max_tries,
            pin_tries_left=personalization.pin_max_tries,
        )
        return self._answer(SW.OK, data=data, pin_verified=False)


_ISO_PIN = (0x00, 0x80)
_COMMANDS: dict[int, tuple[int, tuple[int, int], _Handler]] = {
    Ins.SELECT: (CLA_ISO, (0x04, 0x00), CardApplet._select),
    Ins.VERIFY_PIN: (CLA_ISO, _ISO_PIN, CardApplet._verify_pin),
    Ins.CHANGE_PIN: (CLA_ISO, _ISO_PIN, CardApplet._change_pin),
    Ins.DEBIT: (CLA_PROPRIETARY, (0, 0), CardApplet._debit),
    Ins.LOAD: (CLA_PROPRIETARY, (0, 0), CardApplet._load),
    Ins.VOID: (CLA_PROPRIETARY, (0, 0), CardApplet._void),
    Ins.GET_TRANSACTION: (CLA_PROPRIETARY, (0, 0), CardApplet._get_transaction),
    Ins.FIND_TRANSACTION: (CLA_PROPRIETARY, (0, 0), CardApplet._find_transaction),
    Ins.BLOCK: (CLA_PROPRIETARY, (0, 0), CardApplet._block),
    Ins.UNBLOCK_PIN: (CLA_PROPRIETARY, (0, 0), CardApplet._unblock_pin),
    Ins.GENERATE_KEY: (CLA_PROPRIETARY, (0, 0), CardApplet._generate_key),
    Ins.PERSONALIZE: (CLA_PROPRIETARY, (0, 0), CardApplet._personalize),
}
