"""Random bytes at both ends of the card protocol: the card answers a clean status word and
changes nothing it should not; the terminal raises a typed CardError, never anything else (R2)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.card.apdu import SW, CommandAPDU, ResponseAPDU, is_wrong_pin
from drivers.card.protocol import (
    BlockRequest,
    CardInfo,
    Commands,
    DebitRequest,
    Ins,
    LoadRequest,
    Personalization,
    PinUnblockRequest,
    VoidRequest,
)
from drivers.card.session import CardSession
from drivers.card.transport import CardError
from ledger.binary import FormatError
from ledger.cardproofs import PinUnblockReceipt, decode_card_transaction
from simulators.card.applet import CardApplet
from simulators.card.issuance import IssuerKeys
from simulators.card.state import CardData
from simulators.card.store import CardStore
from tests.factories import T0
from tests.fixtures.card import PIN, TERMINAL, TODAY, debit_request, issue_file

KNOWN_SW = {int(sw) for sw in SW}
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def personalized(tmp_path_factory: pytest.TempPathFactory) -> tuple[CardData, IssuerKeys]:
    issuer = IssuerKeys.generate()
    path = tmp_path_factory.mktemp("fuzz") / "card.json"
    issue_file(path, issuer)
    return CardStore(path).load(), issuer


def ready_applet(data: CardData) -> CardApplet:
    """Selected, PIN verified: every command can get as far as parsing its data."""
    applet = CardApplet(data)
    for command in (Commands.select(), Commands.verify_pin(PIN)):
        outcome = applet.process(command.encode())
        assert outcome.sw == SW.OK
        applet.commit(outcome)
    return applet


def check_clean(applet: CardApplet, raw: bytes) -> None:
    before = applet.data
    outcome = applet.process(raw)
    assert len(outcome.response) >= 2
    sw = outcome.sw
    assert sw in KNOWN_SW or is_wrong_pin(sw), f"{sw:04X}"
    if sw != SW.OK and not is_wrong_pin(sw):
        assert outcome.response == sw.to_bytes(2, "big")
        assert outcome.data is None
    if sw == SW.OK and outcome.data is not None and outcome.data.counter != before.counter:
        # Accepted (a mutation that is still a valid request): the answer is a signed message.
        message = decode_card_transaction(outcome.response[:-2])
        assert message.verify(before.certificate.public_key)  # type: ignore[union-attr]


@FUZZ
@given(raw=st.binary(max_size=300))
def test_card_answers_random_bytes_cleanly(
    personalized: tuple[CardData, IssuerKeys], raw: bytes
) -> None:
    check_clean(ready_applet(personalized[0]), raw)


_HEADERS = {
    Ins.SELECT: bytes([0x00, 0xA4, 0x04, 0x00]),
    Ins.VERIFY_PIN: bytes([0x00, 0x20, 0x00, 0x80]),
    Ins.CHANGE_PIN: bytes([0x00, 0x24, 0x00, 0x80]),
    **{ins: bytes([0x80, ins, 0, 0]) for ins in (Ins.DEBIT, Ins.LOAD, Ins.VOID,
                                                 Ins.GET_TRANSACTION, Ins.BLOCK, Ins.UNBLOCK_PIN,
                                                 Ins.PERSONALIZE)},
}  # fmt: skip


@FUZZ
@given(ins=st.sampled_from(sorted(_HEADERS)), data=st.binary(min_size=1, max_size=255))
def test_card_parses_random_command_data_cleanly(
    personalized: tuple[CardData, IssuerKeys], ins: Ins, data: bytes
) -> None:
    check_clean(ready_applet(personalized[0]), _HEADERS[ins] + bytes([len(data)]) + data)


def _valid_commands(issuer: IssuerKeys, number: str) -> list[bytes]:
    auth = issuer.authorize_load(number, 9, "APBD", 10_000, dt.date(2026, 12, 31), TODAY)
    order = issuer.block_order(number, 1, TODAY)
    return [
        Commands.select().encode(),
        Commands.debit(debit_request((("APBD", 5_000), ("BZNS", 1_000)), ((1, 5_000),))).encode(),
        Commands.load(LoadRequest(auth, TERMINAL, bytes(16), T0)).encode(),
        Commands.void(VoidRequest(TERMINAL, bytes(16), T0, 1)).encode(),
        Commands.block(BlockRequest(order, TERMINAL, T0)).encode(),
        Commands.change_pin(PIN, "9876").encode(),
        Commands.unblock_pin(
            PinUnblockRequest(issuer.unblock_order(number, 1, TODAY), TERMINAL, T0)
        ).encode(),
    ]


@FUZZ
@given(which=st.integers(0, 6), flips=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)),
                                               min_size=1, max_size=4))  # fmt: skip
def test_card_survives_corrupted_valid_commands(
    personalized: tuple[CardData, IssuerKeys], which: int, flips: list[tuple[int, int]]
) -> None:
    data, issuer = personalized
    assert data.certificate is not None
    raw = bytearray(_valid_commands(issuer, data.certificate.card_number)[which])
    for position, mask in flips:
        raw[position % len(raw)] ^= mask
    check_clean(ready_applet(data), bytes(raw))


@FUZZ
@given(raw=st.binary(max_size=400))
def test_codecs_refuse_random_bytes_with_format_error(raw: bytes) -> None:
    decoders: list[Callable[[bytes], object]] = [
        CardInfo.decode,
        decode_card_transaction,
        CommandAPDU.decode,
        ResponseAPDU.decode,
        DebitRequest.decode,
        LoadRequest.decode,
        Personalization.decode,
        PinUnblockRequest.decode,
        PinUnblockReceipt.decode,
    ]
    for decode in decoders:
        with contextlib.suppress(FormatError):
            decode(raw)


class Scripted:
    """A card that answers whatever the test says."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer

    def transmit(self, apdu: bytes) -> bytes:
        return self.answer


@FUZZ
@given(answer=st.binary(max_size=300), status=st.sampled_from([b"", b"\x90\x00", b"\x62\x83"]))
def test_session_turns_any_answer_into_a_typed_error(
    personalized: tuple[CardData, IssuerKeys], answer: bytes, status: bytes
) -> None:
    data, issuer = personalized
    transport = Scripted(answer + status)
    session = CardSession(transport, issuer.ca_keys)
    session.certificate = data.certificate  # as if read_card had succeeded
    assert data.certificate is not None
    unblock = PinUnblockRequest(
        issuer.unblock_order(data.certificate.card_number, 1, TODAY), TERMINAL, T0
    )
    calls: list[Callable[[], object]] = [
        session.select,
        lambda: session.read_card(TODAY),
        lambda: session.verify_pin(PIN),
        session.pin_status,
        lambda: session.debit(debit_request()),
        lambda: session.void(VoidRequest(TERMINAL, bytes(16), T0, 3)),
        session.get_transaction,
        lambda: session.find_transaction(bytes(16), 1),
        session.generate_key,
        lambda: session.unblock_pin(unblock),
    ]
    for call in calls:
        session.certificate = data.certificate
        with contextlib.suppress(CardError):
            call()


def test_the_real_card_passes_the_same_checks(personalized: tuple[CardData, IssuerKeys]) -> None:
    # The fuzz harness must accept a genuine exchange, or the tests above prove nothing.
    data, _issuer = personalized
    assert data.certificate is not None
    applet = ready_applet(data)
    command = Commands.debit(debit_request())
    outcome = applet.process(command.encode())
    assert outcome.sw == SW.OK and outcome.data is not None
    check_clean(ready_applet(data), command.encode())
