"""PIN entry on the reader's pad (PC/SC part 10): which readers have one, the exact bytes we
send, and what the holder and the cashier get for each answer of pad and card."""

from __future__ import annotations

import pytest

from drivers.card.errors import PinBlocked, WrongPin
from drivers.card.pinpad import (
    CM_IOCTL_GET_FEATURE_REQUEST,
    PinEntryCancelled,
    PinEntryTimeout,
    PinPad,
    PinPadError,
    parse_features,
    verify_structure,
)
from drivers.card.protocol import Commands, HolderInfo
from drivers.card.session import CardSession
from drivers.card.transport import CardRemoved, TransportFailure
from ledger.binary import FormatError
from tests.fixtures.card import PIN, STARTING, TODAY, DirectCard
from tests.fixtures.pinpad import FEATURES_WITH_PAD, VERIFY_DIRECT, EmulatedPad

FEATURES_WITHOUT_PAD = bytes.fromhex("0a044233000a120442330012")


class FakeReader:
    """The pyscard connection subset the pad uses: ``control()``, answering with set bytes."""

    def __init__(self, features: bytes | Exception, answer: bytes = b"\x90\x00") -> None:
        self.features = features
        self.answer = answer
        self.sent: list[tuple[int, bytes]] = []

    def control(self, code: int, command: list[int], /) -> list[int]:
        self.sent.append((code, bytes(command)))
        if code == CM_IOCTL_GET_FEATURE_REQUEST:
            if isinstance(self.features, Exception):
                raise self.features
            return list(self.features)
        return list(self.answer)


# --- which readers have a pad ---------------------------------------------------------------


def test_a_reader_listing_verify_pin_direct_has_a_pad_at_its_ioctl() -> None:
    pad = PinPad.detect(FakeReader(FEATURES_WITH_PAD))
    assert pad is not None and pad.code == VERIFY_DIRECT


def test_readers_without_the_feature_or_without_part_10_have_no_pad() -> None:
    assert PinPad.detect(FakeReader(FEATURES_WITHOUT_PAD)) is None
    assert PinPad.detect(FakeReader(b"")) is None
    unsupported = TransportFailure("cannot use the reader's PIN pad: not supported", 0x80100022)
    assert PinPad.detect(FakeReader(unsupported)) is None


def test_a_malformed_feature_list_means_no_pad_not_a_crash() -> None:
    for raw in ("06044233", "0603423300", "06"):
        with pytest.raises(FormatError):
            parse_features(bytes.fromhex(raw))
        assert PinPad.detect(FakeReader(bytes.fromhex(raw))) is None


def test_losing_the_card_while_asking_is_not_hidden_as_no_pad() -> None:
    with pytest.raises(CardRemoved):
        PinPad.detect(FakeReader(CardRemoved("the card was removed")))


# --- the bytes ------------------------------------------------------------------------------


def test_verify_structure_bytes_for_our_pin_block() -> None:
    assert verify_structure(30).hex(" ") == (
        "1e 1e 41 48 04 0c 04 02 01 09 04 00 00 00 00 0e 00 00 00"  # 19-byte header
        " 00 20 00 80 08 20 ff ff ff ff ff ff ff 00"  # VERIFY PIN, empty format 2 block, Le
    )
    verify = Commands.verify_pin(PIN).encode()
    apdu = verify_structure(30)[19:]
    assert apdu[:5] == verify[:5] and apdu[-1:] == verify[-1:]  # same command, only the PIN


def test_pad_timeout_is_whole_seconds_a_byte_can_hold() -> None:
    for seconds in (0, 256):
        with pytest.raises(ValueError):
            verify_structure(seconds)


# --- the holder at the pad, the card behind it ----------------------------------------------


def _pad_session(direct_card: DirectCard, typed: str) -> tuple[EmulatedPad, PinPad]:
    connection = direct_card.connect()
    CardSession(connection, direct_card.issuer.ca_keys).read_card(TODAY)
    reader = EmulatedPad(connection, typed)
    pad = PinPad.detect(reader)
    assert pad is not None
    return reader, pad


def test_right_pin_on_the_pad_gives_the_holder_data(direct_card: DirectCard) -> None:
    _, pad = _pad_session(direct_card, PIN)
    holder = HolderInfo.decode(pad.verify(30).data)
    assert {purse.code: purse.balance for purse in holder.purses} == STARTING


def test_wrong_pins_on_the_pad_count_down_then_block(direct_card: DirectCard) -> None:
    _, pad = _pad_session(direct_card, "999999")
    tries = []
    for _ in range(3):
        with pytest.raises(WrongPin) as wrong:
            pad.verify(30)
        tries.append(wrong.value.tries_left)
    assert tries == [2, 1, 0]
    with pytest.raises(PinBlocked):
        pad.verify(30)


def test_a_pin_of_the_wrong_length_never_reaches_the_card(direct_card: DirectCard) -> None:
    reader, pad = _pad_session(direct_card, "123")
    with pytest.raises(PinPadError, match="too short or too long"):
        pad.verify(30)
    assert reader.card_commands == 0


@pytest.mark.parametrize(("sw", "error"), [("6400", PinEntryTimeout), ("6401", PinEntryCancelled)])
def test_timeout_and_cancel_on_the_pad(sw: str, error: type[PinPadError]) -> None:
    pad = PinPad.detect(FakeReader(FEATURES_WITH_PAD, bytes.fromhex(sw)))
    assert pad is not None
    with pytest.raises(error) as raised:
        pad.verify(15)
    assert raised.value.sw == int(sw, 16)
