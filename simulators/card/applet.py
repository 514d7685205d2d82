"""The Kartu SSN card application: one command APDU in, one answer and maybe a new state out.

Pure logic, no I/O: :meth:`CardApplet.process` never changes the applet; it returns an
:class:`Outcome` that the caller persists and then adopts with :meth:`CardApplet.commit`. That
is what makes tears testable (persist and not answer, answer and leave...) and keeps the card
atomic. A bug inside a command is answered 6F00 and changes nothing: no exception escapes.
docs/card-protocol.md is the reference for every rule here.
"""

from __future__ import annotations

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
    NO_TRANSACTION,
    BlockRequest,
    CardInfo,
    CardState,
    DebitRequest,
    Ins,
    LoadRequest,
    Personalization,
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

    @property
    def sw(self) -> int:
        return int.from_bytes(self.response[-2:], "big")


_Handler = Callable[["CardApplet", CommandAPDU], Outcome]


class CardApplet:
    """The card application of one card for one power-on session."""

    def __init__(self, data: CardData, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self.data = data
        self.selected = False
        self.pin_verified = False
        self._random_bytes = random_bytes
        self._key: SigningKey | None = None
        self._key_seed: bytes | None = None

    def power_on(self) -> None:
        """A reset or a new power-on: nothing selected, no PIN verified."""
        self.selected = False
        self.pin_verified = False

    def commit(self, outcome: Outcome) -> None:
        """Adopts the outcome once its state is safely stored."""
        if outcome.data is not None:
            self.data = outcome.data
        self.selected = outcome.selected
        self.pin_verified = outcome.pin_verified

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
    ) -> Outcome:
        return Outcome(
            response=payload + sw.to_bytes(2, "big"),
            data=data,
            selected=self.selected if selected is None else selected,
            pin_verified=self.pin_verified if pin_verified is None else pin_verified,
            crypto_ops=crypto_ops,
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
            holder_name=data.holder_name,
            purses=data.purses,
            quantities=data.quantities,
            last_transaction=data.last_transaction or NO_TRANSACTION,
        )
        sw = {
            CardState.BLOCKED: SW.CARD_BLOCKED,
            CardState.TERMINATED: SW.CARD_TERMINATED,
        }.get(data.state, SW.OK)
        return self._answer(sw, info.encode(), selected=True, pin_verified=False)

    def _verify_pin(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        if self.data.pin_tries_left == 0:
            return self._answer(SW.PIN_BLOCKED)
        if not command.data:
            return self._answer(SW.OK if self.pin_verified else wrong_pin(self.data.pin_tries_left))
        if len(command.data) != PIN_BLOCK_SIZE:
            return self._answer(SW.WRONG_LENGTH)
        pin = self._decode(pin_from_block, command.data)
        return self._check_pin(pin)

    def _check_pin(self, pin: str) -> Outcome:
        data = self.data
        if data.pin_matches(pin):
            if data.pin_tries_left == data.pin_max_tries:
                return self._answer(SW.OK, pin_verified=True)
            reset = data.replace(pin_tries_left=data.pin_max_tries)
            return self._answer(SW.OK, data=reset, pin_verified=True)
        left = data.pin_tries_left - 1
        return self._answer(
            wrong_pin(left), data=data.replace(pin_tries_left=left), pin_verified=False
        )

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
        return self._answer(SW.OK, data=data, pin_verified=True)

    def _debit(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        if self.data.pin_tries_left == 0:
            return self._answer(SW.PIN_BLOCKED)
        if not self.pin_verified:
            return self._answer(SW.PIN_REQUIRED)
        request = self._decode(DebitRequest.decode, command.data)
        data, proof = operations.debit(self.data, request, self._signing_key())
        # One PIN, one debit: the holder approves each payment.
        return self._answer(SW.OK, proof.encode(), data=data, pin_verified=False, crypto_ops=1)

    def _void(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        request = self._decode(VoidRequest.decode, command.data)
        data, proof = operations.void(self.data, request, self._signing_key())
        return self._answer(SW.OK, proof.encode(), data=data, crypto_ops=1)

    def _load(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE)
        request = self._decode(LoadRequest.decode, command.data)
        data, receipt = operations.load(self.data, request, self._signing_key())
        return self._answer(SW.OK, receipt.encode(), data=data, crypto_ops=2)

    def _block(self, command: CommandAPDU) -> Outcome:
        self._require(CardState.ACTIVE, CardState.BLOCKED)
        request = self._decode(BlockRequest.decode, command.data)
        data, receipt = operations.block(self.data, request, self._signing_key())
        return self._answer(SW.OK, receipt.encode(), data=data, crypto_ops=2)

    def _get_transaction(self, command: CommandAPDU) -> Outcome:
        if len(command.data) != 4:
            return self._answer(SW.WRONG_LENGTH)
        counter = BinaryReader(command.data).u32()
        log_ = self.data.log
        entry = (log_[-1] if log_ else None) if counter == 0 else self.data.find_log(counter)
        if entry is None:
            return self._answer(SW.RECORD_NOT_FOUND)
        return self._answer(SW.OK, entry.raw)

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
    Ins.BLOCK: (CLA_PROPRIETARY, (0, 0), CardApplet._block),
    Ins.GENERATE_KEY: (CLA_PROPRIETARY, (0, 0), CardApplet._generate_key),
    Ins.PERSONALIZE: (CLA_PROPRIETARY, (0, 0), CardApplet._personalize),
}
