"""Secure PIN entry on the reader's own keypad (PC/SC part 10, FEATURE_VERIFY_PIN_DIRECT).

With a PIN-pad reader the holder types the PIN on the reader: the digits go from its keys into
the card's VERIFY PIN command inside the reader and never reach the terminal's software. The
terminal sends the reader a PIN_VERIFY_STRUCTURE (how long to wait, how to put the digits into
the PIN block, and the VERIFY PIN APDU with an empty ISO 9564 format 2 block) with
``SCardControl``, and gets back the card's whole answer: with a right PIN that is ``9000`` and
the HolderInfo, exactly as for :meth:`drivers.card.protocol.Commands.verify_pin`.

- :meth:`PinPad.detect` asks the reader for its features (``CM_IOCTL_GET_FEATURE_REQUEST``);
  None when it has no PIN pad.
- :meth:`PinPad.verify` returns the card's answer on ``9000``; raises the session's errors
  (``WrongPin`` with ``tries_left``, ``PinBlocked``...) for the card's refusals, and
  :class:`PinEntryTimeout` / :class:`PinEntryCancelled` / :class:`PinPadError` for the pad's.

``control()`` is pyscard's (``smartcard.CardConnection.control``); :class:`PcscControl` gives
our own :class:`~drivers.card.pcsc.PcscConnection` the same method. docs/card-protocol.md has
the bytes.
"""

from __future__ import annotations

import logging
import struct
from typing import Protocol

from smartcard import scard

from drivers.card.apdu import SW, CommandAPDU, ResponseAPDU
from drivers.card.errors import (
    CardResponseError,
    PinEntryCancelled,
    PinEntryTimeout,
    PinPadError,
    refusal,
)
from drivers.card.pcsc import PcscConnection, pcsc_error
from drivers.card.protocol import CLA_ISO, MAX_PIN_DIGITS, MIN_PIN_DIGITS, Ins
from drivers.card.transport import CardRemoved, TransportFailure
from ledger.binary import FormatError

log = logging.getLogger(__name__)

CM_IOCTL_GET_FEATURE_REQUEST: int = scard.SCARD_CTL_CODE(3400)
"""The ioctl listing a reader's part 10 features (its value differs between Linux and Windows)."""
FEATURE_VERIFY_PIN_DIRECT = 0x06

# PIN_VERIFY_STRUCTURE for an ISO 9564 format 2 block (2N, BCD digits, F padding; 8 bytes), as
# OpenSC's "GLP" PIN encoding: the digits start at bit 8 of the block, BCD, left justified; the
# PIN length is a 4-bit field at bit 4 (the N of 2N).
FORMAT_STRING = 0x41
"""bmFormatString: units bits, PIN at bit 8 (0x08 << 3), left justified, BCD (0x01)."""
PIN_BLOCK_STRING = 0x48
"""bmPINBlockString: PIN length field of 4 bits, PIN block of 8 bytes."""
PIN_LENGTH_FORMAT = 0x04
"""bmPINLengthFormat: units bits, the length field at bit 4."""
VALIDATION_KEY = 0x02
"""bEntryValidationCondition: the holder confirms with the pad's OK key."""
LANG_ID = 0x0409
"""wLangId of the pad's own prompts (few readers speak Indonesian, 0x0421)."""
EMPTY_PIN_BLOCK = bytes([0x20]) + b"\xff" * 7
"""The block the pad fills: format 2, length 0, all padding."""
_HEADER = struct.Struct("<BBBBBHBBHB3sI")
"""PIN_VERIFY_STRUCTURE up to abData; multi-byte fields little-endian (as libccid reads them)."""

PAD_TIMEOUT = 0x6400
PAD_CANCELLED = 0x6401
PAD_PINS_DIFFER = 0x6402
PAD_PIN_LENGTH = 0x6403
PAD_BAD_PARAMETER = 0x6B80


class ReaderControl(Protocol):
    """The one pyscard connection method the pad needs: ``SCardControl`` on the connection."""

    def control(self, code: int, command: list[int], /) -> list[int]: ...


def parse_features(raw: bytes) -> dict[int, int]:
    """The part 10 feature list (tag, length 4, big-endian ioctl code) as {tag: ioctl}."""
    features: dict[int, int] = {}
    at = 0
    while at < len(raw):
        if at + 2 > len(raw) or raw[at + 1] != 4 or at + 6 > len(raw):
            raise FormatError(f"malformed PC/SC feature list at byte {at}: {raw.hex()}")
        features[raw[at]] = int.from_bytes(raw[at + 2 : at + 6], "big")
        at += 6
    return features


def verify_apdu() -> bytes:
    """Our VERIFY PIN command with an empty PIN block, for the pad to fill."""
    return CommandAPDU(CLA_ISO, Ins.VERIFY_PIN, 0x00, 0x80, EMPTY_PIN_BLOCK, le=256).encode()


def verify_structure(timeout_s: int) -> bytes:
    """The PIN_VERIFY_STRUCTURE: wait up to ``timeout_s`` seconds (1..255) for the holder."""
    if not 1 <= timeout_s <= 255:
        raise ValueError("the PIN pad timeout is 1 to 255 seconds")
    apdu = verify_apdu()
    header = _HEADER.pack(
        timeout_s,  # bTimerOut
        timeout_s,  # bTimerOut2: after the first key
        FORMAT_STRING,
        PIN_BLOCK_STRING,
        PIN_LENGTH_FORMAT,
        (MIN_PIN_DIGITS << 8) | MAX_PIN_DIGITS,  # wPINMaxExtraDigit: XXYY = min, max
        VALIDATION_KEY,
        0x01,  # bNumberMessage: the pad's one "enter PIN" prompt
        LANG_ID,
        0x00,  # bMsgIndex
        b"\x00\x00\x00",  # bTeoPrologue (T=1 only, filled by the reader)
        len(apdu),  # ulDataLength
    )
    return header + apdu


_PAD_ERRORS: dict[int, tuple[type[PinPadError], str]] = {
    PAD_TIMEOUT: (PinEntryTimeout, "no PIN entered in time"),
    PAD_CANCELLED: (PinEntryCancelled, "cancelled by the holder"),
    PAD_PINS_DIFFER: (PinPadError, "the PINs entered differ"),
    PAD_PIN_LENGTH: (PinPadError, "the PIN entered is too short or too long"),
    PAD_BAD_PARAMETER: (PinPadError, "the reader refused the PIN verify parameters"),
}


class PinPad:
    """A reader's PIN pad, reached through ``connection`` with the ioctl ``code``."""

    def __init__(self, connection: ReaderControl, code: int) -> None:
        self.connection = connection
        self.code = code

    @classmethod
    def detect(cls, connection: ReaderControl) -> PinPad | None:
        """The pad, if the reader has FEATURE_VERIFY_PIN_DIRECT; None if not (no part 10
        support at all, or a feature list we cannot read). Card and reader loss still raise."""
        try:
            raw = bytes(connection.control(CM_IOCTL_GET_FEATURE_REQUEST, []))
            code = parse_features(raw).get(FEATURE_VERIFY_PIN_DIRECT)
        except TransportFailure as exc:
            log.info("the reader lists no PC/SC part 10 features: %s", exc)
            return None
        except FormatError as exc:
            log.warning("ignoring the reader's PIN pad: %s", exc)
            return None
        return cls(connection, code) if code is not None else None

    def verify(self, timeout_s: int = 30) -> ResponseAPDU:
        """Let the holder type the PIN on the pad; the card's answer when it says ``9000``
        (its data is the HolderInfo). Blocks until the holder is done or ``timeout_s`` passes."""
        raw = bytes(self.connection.control(self.code, list(verify_structure(timeout_s))))
        try:
            response = ResponseAPDU.decode(raw)
        except FormatError as exc:
            raise CardResponseError(f"malformed answer from the PIN pad: {exc}") from exc
        if response.sw in _PAD_ERRORS:
            error, detail = _PAD_ERRORS[response.sw]
            raise error(response.sw, detail)
        if response.sw != SW.OK:
            raise refusal(response.sw, "the PIN")
        return response


class PcscControl:
    """pyscard's ``control()`` for our :class:`~drivers.card.pcsc.PcscConnection`."""

    def __init__(self, connection: PcscConnection) -> None:
        self._connection = connection

    def control(self, code: int, command: list[int], /) -> list[int]:
        card = self._connection._card
        if card is None:
            raise CardRemoved("the connection to the card is closed")
        hresult, response = scard.SCardControl(card, code, command)
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "use the reader's PIN pad", self._connection.reader.name)
        return list(response)
