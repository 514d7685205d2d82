"""The terminal's card session: it trusts only genuine cards and proofs that say what was asked,
and it turns tears into a question the card's log answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.card.errors import (
    BadCardProof,
    CardExpired,
    CardInternalError,
    CardNotGenuine,
    CardResponseError,
    CardSessionError,
    PinFormatError,
    TransactionNotFound,
)
from drivers.card.protocol import Commands
from drivers.card.session import CardSession
from drivers.card.transport import (
    OUTCOME_UNKNOWN,
    ApduCounter,
    CardRemoved,
    NoCard,
    ObservedTransport,
    ReaderBusy,
    redact,
)
from ledger.cardproofs import DebitProof, PurseMovement
from ledger.crypto import SigningKey
from simulators.card import operations
from simulators.card.card import Fault, Latency
from simulators.card.issuance import IssuerKeys
from simulators.card.store import CardStore
from tests.fixtures.card import PIN, TODAY, DirectCard, debit_request


class Tamper:
    """A transport between session and card that rewrites the card's answers."""

    def __init__(self, inner: object, rewrite: Callable[[bytes, bytes], bytes]) -> None:
        self.inner = inner
        self.rewrite = rewrite

    def transmit(self, apdu: bytes) -> bytes:
        answer: bytes = self.inner.transmit(apdu)  # type: ignore[attr-defined]
        return self.rewrite(apdu, answer)


def tampered_session(card: DirectCard, rewrite: Callable[[bytes, bytes], bytes]) -> CardSession:
    session = CardSession(Tamper(card.connect(), rewrite), card.issuer.ca_keys)
    session.read_card(TODAY)
    session.verify_pin(PIN)
    return session


def on_debit(change: Callable[[bytes], bytes]) -> Callable[[bytes, bytes], bytes]:
    return lambda apdu, answer: change(answer) if apdu[1] == 0x30 else answer


# --- genuineness ----------------------------------------------------------------------------


def test_cards_from_another_ca_are_not_genuine(direct_card: DirectCard) -> None:
    stranger = IssuerKeys.generate()
    session = CardSession(direct_card.connect(), stranger.ca_keys)
    with pytest.raises(CardNotGenuine, match="unknown CA"):
        session.read_card(TODAY)
    impostor = {direct_card.issuer.ca.key_id: stranger.ca.public_key}
    with pytest.raises(CardNotGenuine, match="does not verify"):
        CardSession(direct_card.connect(), impostor).read_card(TODAY)
    with pytest.raises(CardSessionError):
        session.debit(debit_request())


def test_a_certificate_seen_genuine_before_does_not_vouch_for_altered_bytes(
    direct_card: DirectCard,
) -> None:
    genuine = direct_card.session().read_card(TODAY).certificate
    assert genuine is not None
    raw = genuine.encode()
    forged = raw[:-1] + bytes([raw[-1] ^ 1])

    def swap_certificate(apdu: bytes, answer: bytes) -> bytes:
        return answer.replace(raw, forged) if apdu[1] == 0xA4 else answer

    session = CardSession(
        Tamper(direct_card.connect(), swap_certificate), direct_card.issuer.ca_keys
    )
    with pytest.raises(CardNotGenuine, match="does not verify"):
        session.read_card(TODAY)
    assert direct_card.session().read_card(TODAY).certificate == genuine


def test_expired_card(direct_card: DirectCard) -> None:
    session = CardSession(direct_card.connect(), direct_card.issuer.ca_keys)
    with pytest.raises(CardExpired):
        session.read_card(dt.date(2032, 1, 1))


def test_blank_card_is_not_genuine(tmp_path: Path, issuer: IssuerKeys) -> None:
    from simulators.card.card import SimulatedCard
    from simulators.card.direct import DirectReader
    from tests.fixtures.card import new_card_file

    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(new_card_file(tmp_path / "blank.json")))
    with pytest.raises(CardNotGenuine, match="not personalized"):
        CardSession(reader.connect(), issuer.ca_keys).read_card(TODAY)


def test_pin_that_is_not_a_pin_is_not_sent(direct_card: DirectCard) -> None:
    session = direct_card.session()
    for pin in ("12a4", "123", "1234567890123"):
        with pytest.raises(PinFormatError):
            session.verify_pin(pin)
    assert session.pin_status().tries_left == 3


# --- proofs -------------------------------------------------------------------------------


def test_a_bit_flipped_proof_is_refused(direct_card: DirectCard) -> None:
    flip = on_debit(lambda answer: answer[:40] + bytes([answer[40] ^ 1]) + answer[41:])
    with pytest.raises(BadCardProof, match="signature"):
        tampered_session(direct_card, flip).debit(debit_request())


def test_a_signed_proof_for_other_amounts_is_refused(direct_card: DirectCard) -> None:
    key = direct_card.card.data.signing_key()
    assert key is not None

    def lie(answer: bytes) -> bytes:
        proof = DebitProof.decode(answer[:-2])
        purses = (PurseMovement("APBD", 7_000, 293_000),)
        return dataclasses.replace(proof, purses=purses).signed_by(key).encode() + answer[-2:]

    with pytest.raises(BadCardProof, match="amounts differ"):
        tampered_session(direct_card, on_debit(lie)).debit(debit_request())


def test_a_replayed_old_proof_is_refused(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    request = debit_request()
    old = session.debit(request).encode() + b"\x90\x00"
    replay = tampered_session(direct_card, on_debit(lambda _: old))
    with pytest.raises(BadCardProof, match="counter"):
        replay.debit(request)


@pytest.mark.parametrize(
    "answer", [b"", b"\x90", b"\x90\x00", b"\x01\x02\x90\x00", bytes(300) + b"\x90\x00"]
)
def test_malformed_answers_are_typed_errors(direct_card: DirectCard, answer: bytes) -> None:
    session = tampered_session(direct_card, on_debit(lambda _: answer))
    with pytest.raises(CardResponseError):
        session.debit(debit_request())


# --- card failures ------------------------------------------------------------------------


def test_a_bug_in_the_card_is_6f00_and_changes_nothing(
    direct_card: DirectCard, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> object:
        raise ZeroDivisionError

    monkeypatch.setattr(operations, "debit", broken)
    session = direct_card.session()
    session.verify_pin(PIN)
    before = direct_card.disk()
    with pytest.raises(CardInternalError):
        session.debit(debit_request())
    assert direct_card.disk() == before
    assert session.pin_status().verified  # the failed command did not consume the PIN


def test_a_failed_state_write_is_6f00_and_nothing_is_adopted(
    direct_card: DirectCard, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    before = direct_card.disk()

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CardStore, "save", disk_full)
    with pytest.raises(CardInternalError):
        session.debit(debit_request())
    monkeypatch.undo()
    assert direct_card.disk() == before
    assert direct_card.card.data == before
    assert not list(direct_card.path.parent.glob(".*.tmp"))


# --- tears and recovery -------------------------------------------------------------------


@pytest.mark.parametrize("fault", list(Fault))
def test_tear_then_recovery_from_the_cards_log(direct_card: DirectCard, fault: Fault) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    expected_counter = direct_card.disk().counter + 1
    request = debit_request()
    direct_card.card.arm(fault, 0x30)
    proof: DebitProof | None = None
    try:
        proof = session.debit(request)
    except OUTCOME_UNKNOWN as exc:
        assert isinstance(exc, CardRemoved)
    assert (proof is not None) == (fault is Fault.AFTER)
    assert not direct_card.reader.card_present()  # every fault takes the card out
    with pytest.raises(CardRemoved):
        session.pin_status()

    direct_card.reinsert()
    again = direct_card.session()
    recovered = again.find_transaction(request.nonce, expected_counter)
    applied = fault is not Fault.BEFORE
    assert again.info is not None
    assert again.info.counter == expected_counter - (0 if applied else 1)  # SELECT tells too
    assert (recovered is not None) == applied
    assert direct_card.disk().counter == expected_counter - (0 if applied else 1)
    assert {p.code: p.balance for p in direct_card.disk().purses}["APBD"] == (
        230_000 if applied else 300_000
    )
    if proof is not None:
        assert recovered == proof


def test_recovery_tells_rolled_out_from_never_ran(direct_card: DirectCard) -> None:
    """The card says 'not applied' only when its log still covers the expected counter."""
    session = direct_card.session()
    session.verify_pin(PIN)
    torn = debit_request((("APBD", 100),))
    expected = direct_card.disk().counter + 1
    direct_card.card.arm(Fault.DURING, 0x30)
    with pytest.raises(CardRemoved):
        session.debit(torn)
    direct_card.reinsert()
    other = direct_card.session()
    assert other.find_transaction(os.urandom(16), expected) is None  # another nonce: not it
    for _ in range(16):  # 16 more sales elsewhere push the torn debit out of the log
        other.verify_pin(PIN)
        other.debit(debit_request((("APBD", 100),)))
    again = direct_card.session()
    with pytest.raises(TransactionNotFound):
        again.find_transaction(torn.nonce, expected)
    with pytest.raises(TransactionNotFound):
        again.find_transaction(os.urandom(16), expected)


def test_removal_while_the_card_works_writes_nothing(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    direct_card.card.latency = Latency(per_apdu=0.0, per_crypto=30.0)
    started = threading.Event()
    original = direct_card.card.exchange

    def exchange(apdu: bytes, removed: threading.Event | None = None):  # type: ignore[no-untyped-def]
        started.set()
        return original(apdu, removed)

    direct_card.card.exchange = exchange  # type: ignore[method-assign]
    threading.Thread(target=lambda: (started.wait(5), direct_card.reader.remove())).start()
    before = direct_card.disk()
    with pytest.raises(CardRemoved):
        session.debit(debit_request())
    assert direct_card.disk() == before


def test_reader_errors(direct_card: DirectCard) -> None:
    connection = direct_card.connect()
    with pytest.raises(ReaderBusy):
        direct_card.reader.connect()
    connection.close()
    direct_card.reader.remove()
    with pytest.raises(NoCard):
        direct_card.reader.connect()
    assert not direct_card.reader.wait_for_card(0.01)
    assert direct_card.reader.wait_for_removal(0.01)


# --- observing APDUs ----------------------------------------------------------------------


def test_a_sale_is_three_command_apdus_and_pins_are_never_logged(direct_card: DirectCard) -> None:
    counter = ApduCounter()
    connection = direct_card.connect()
    session = CardSession(ObservedTransport(connection, [counter]), direct_card.issuer.ca_keys)
    session.read_card(TODAY)
    session.verify_pin(PIN)
    session.debit(debit_request())
    assert counter.commands == 3
    assert dict(counter.by_ins) == {0xA4: 1, 0x20: 1, 0x30: 1}
    logged = " ".join(record.command for record in counter.recent)
    assert "123456" not in logged and "26123456FFFFFFFF" not in logged
    assert redact(Commands.verify_pin(PIN).encode()) == "0020008008" + "*" * 18
    assert [r.response[-4:] for r in counter.recent if r.response] == ["9000"] * 3


def test_the_card_key_never_leaves_the_card(direct_card: DirectCard) -> None:
    session = direct_card.session()
    seed = direct_card.card.data.key_seed
    assert seed is not None
    counter = ApduCounter()
    observed = CardSession(ObservedTransport(direct_card.connect(), [counter]), session._ca_keys)
    observed.read_card(TODAY)
    observed.verify_pin(PIN)
    observed.get_transaction()
    assert all(seed.hex().upper() not in (r.response or "") for r in counter.recent)
    assert SigningKey.from_seed(seed).public_key == observed.certificate.public_key  # type: ignore[union-attr]
