"""The card through real pcscd: ``ssn-sim card serve`` in vpcd slot 0, the terminal's PC/SC
driver and card session on the other side, and the usual PC/SC tools looking at it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.card.apdu import SW
from drivers.card.errors import CardBlocked, PinBlocked, PinRequired, WrongPin
from drivers.card.pcsc import PcscReader
from drivers.card.pinpad import PcscControl, PinPad
from drivers.card.protocol import CardState, Commands, VoidRequest
from drivers.card.session import CardSession
from drivers.card.transport import ApduCounter, CardRemoved, NoCard
from simulators.card.card import SimulatedCard
from simulators.card.issuance import IssuerKeys, block_request, personalize
from simulators.card.issuance import load as relay_load
from simulators.card.vpcd import VpcdSlot
from tests.factories import T0, card_number
from tests.fixtures.card import (
    EXPIRY,
    PIN,
    TERMINAL,
    TODAY,
    VPCD_READER,
    CardServer,
    ServedCard,
    debit_request,
    new_card_file,
)

pytestmark = pytest.mark.pcscd
BIN = Path(sys.executable).parent


def balances(card: ServedCard) -> dict[str, int]:
    return {purse.code: purse.balance for purse in card.disk().purses}


def test_personalize_and_sell_through_pcscd(
    card_server: CardServer, tmp_path: Path, issuer: IssuerKeys
) -> None:
    path = new_card_file(tmp_path / "blank.json")
    card_server.call("swap", state=str(path))
    counter = ApduCounter()
    reader = PcscReader(VPCD_READER, observers=[counter])
    assert reader.wait_for_card(5)
    with reader.connect() as connection:
        assert connection.atr[:2] == bytes([0x3B, 0x8A])
        certificate = personalize(connection, issuer, card_number(42), "Rahmawati", PIN, EXPIRY)
        session = CardSession(connection, issuer.ca_keys)
        session.read_card(TODAY)
        auth = issuer.authorize_load(certificate.card_number, 1, "APBD", 250_000, EXPIRY, TODAY)
        relay_load(session, auth, T0)
        counter.reset()
        session.read_card(TODAY)
        info = session.verify_pin(PIN)
        proof = session.debit(debit_request((("APBD", 70_000),), ((1, 5_000),)))
        assert counter.commands == 3  # a sale: SELECT, VERIFY, DEBIT
    reader.close()
    assert (info.holder_name, info.counter) == ("Rahmawati", 1)
    assert [(p.code, p.balance_after) for p in proof.purses] == [("APBD", 180_000)]
    shown = run([*_sim(), "show", str(path)])
    assert json.loads(shown.stdout)["purses"][0]["balance"] == 180_000


def test_pin_right_wrong_and_blocked(served_card: ServedCard) -> None:
    with served_card.session() as session:
        with pytest.raises(WrongPin) as wrong:
            session.verify_pin("000000")
        assert wrong.value.tries_left == 2
        session.verify_pin(PIN)
        session.debit(debit_request())
        with pytest.raises(PinRequired):
            session.debit(debit_request())
        for left in (2, 1, 0):
            with pytest.raises(WrongPin) as wrong:
                session.verify_pin("000000")
            assert wrong.value.tries_left == left
        with pytest.raises(PinBlocked):
            session.verify_pin(PIN)
    assert served_card.disk().pin_tries_left == 0
    assert balances(served_card) == {"APBD": 230_000, "BZNS": 100_000}


def test_a_reader_without_a_pin_pad_is_told_apart_through_pcscd(served_card: ServedCard) -> None:
    """vpcd lists no part 10 features: the terminal asks for the PIN on its own keyboard, and the
    question leaves the connection as it was."""
    assert served_card.reader.wait_for_card(5)
    with served_card.reader.connect() as connection:
        assert PinPad.detect(PcscControl(connection)) is None
        session = CardSession(connection, served_card.issuer.ca_keys)
        session.read_card(TODAY)
        assert session.verify_pin(PIN).holder_known


def test_a_later_session_cannot_void_through_pcscd(served_card: ServedCard) -> None:
    """The reader closes with a card reset: the next connection is a new card session, and the
    card refuses to give back a debit of the session before, even to the same terminal."""
    with served_card.session() as session:
        session.verify_pin(PIN)
        debit = session.debit(debit_request())
    before = served_card.disk()
    with served_card.session() as later:
        request = VoidRequest(TERMINAL, os.urandom(16), T0, debit.counter)
        answer = later._transport.transmit(Commands.void(request).encode())
        assert answer == SW.CONDITIONS_NOT_SATISFIED.to_bytes(2, "big")
        assert later._transport.transmit(Commands.get_transaction(0).encode()) == (
            SW.PIN_REQUIRED.to_bytes(2, "big")
        )
    assert served_card.disk() == before


def test_load_void_and_block(served_card: ServedCard) -> None:
    issuer = served_card.issuer
    with served_card.session() as session:
        auth = issuer.authorize_load(served_card.number, 3, "PKH1", 120_000, EXPIRY, TODAY)
        assert relay_load(session, auth, T0).balance_after == 120_000
        session.verify_pin(PIN)
        debit = session.debit(debit_request((("PKH1", 20_000), ("BZNS", 5_000))))
        void = session.void(VoidRequest(TERMINAL, os.urandom(16), T0, debit.counter), debit)
        assert [(p.code, p.balance_after) for p in void.purses] == [
            ("PKH1", 120_000),
            ("BZNS", 100_000),
        ]
        session.block(block_request(session, issuer, reason=3, time=T0, terminal_id=TERMINAL))
        with pytest.raises(CardBlocked):
            session.read_card(TODAY)
    disk = served_card.disk()
    assert disk.state == CardState.BLOCKED
    assert balances(served_card) == {"APBD": 300_000, "BZNS": 100_000, "PKH1": 120_000}


@pytest.mark.parametrize("fault", ["before", "during", "after"])
def test_tear_then_recovery_through_pcscd(served_card: ServedCard, fault: str) -> None:
    request = debit_request()
    answered = None
    with served_card.session() as session:
        expected_counter = (session.info.counter if session.info else 0) + 1
        session.verify_pin(PIN)
        served_card.server.call("arm", fault=fault, ins="DEBIT")
        with contextlib.suppress(CardRemoved):
            answered = session.debit(request)
    assert (answered is not None) == (fault == "after")
    served_card.put_back()
    applied = fault != "before"
    with served_card.session() as session:
        assert session.info is not None
        assert session.info.counter == expected_counter - (0 if applied else 1)
        found = session.find_transaction(request.nonce, expected_counter)
    assert (found is not None) == applied
    if answered is not None:
        assert found == answered
    assert balances(served_card)["APBD"] == (230_000 if applied else 300_000)
    assert served_card.disk().counter == expected_counter - (0 if applied else 1)


def test_card_pulled_out_while_it_works(served_card: ServedCard) -> None:
    served_card.server.call("latency", apdu_ms=0, crypto_ms=5_000)
    with served_card.session() as session:
        session.verify_pin(PIN)
        puller = threading.Timer(0.3, lambda: served_card.server.call("remove"))
        puller.start()
        started = time.monotonic()
        with pytest.raises(CardRemoved):
            session.debit(debit_request())
        assert time.monotonic() - started < 4.5  # the removal, not the latency, ended it
        puller.join()
    served_card.server.call("latency", apdu_ms=0, crypto_ms=0)
    assert balances(served_card)["APBD"] == 300_000
    served_card.put_back()
    with served_card.session() as session:
        assert session.info is not None and session.info.counter == 2


def test_waiting_for_a_card_in_the_second_slot(tmp_path: Path, issuer: IssuerKeys) -> None:
    reader = PcscReader("Virtual PCD 00 01")
    slot = VpcdSlot(slot=1)
    try:
        assert not reader.card_present()
        assert not reader.wait_for_card(0.2)
        with pytest.raises(NoCard):
            reader.connect()
        card = SimulatedCard.from_file(new_card_file(tmp_path / "second.json"))
        threading.Timer(0.2, slot.insert, args=(card,)).start()
        assert reader.wait_for_card(5)
        with reader.connect() as connection:
            session = CardSession(connection, issuer.ca_keys)
            assert session.select().state == CardState.BLANK
        slot.remove()
        assert reader.wait_for_removal(5)
    finally:
        slot.close()
        reader.close()


# --- the command line and the PC/SC tools ---------------------------------------------------


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def _terminal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "ssn-terminal"), "card", "info", *args], env)


def _sim() -> list[str]:
    return [sys.executable, "-m", "simulators.card"]


def test_card_info_command(served_card: ServedCard) -> None:
    ca_key = served_card.issuer.ca.public_key.hex()
    result = _terminal("--reader", VPCD_READER, "--ca-key", ca_key, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["card_number"] == "**** **** **** " + served_card.number[-4:]
    assert served_card.number not in result.stdout
    assert report["state"] == "ACTIVE"
    assert report["counter"] == 2
    # A reader without the PIN learns no name, no purse (a BAZNAS purse tells the religion).
    assert "Siti" not in result.stdout and "BZNS" not in result.stdout
    assert "purses" not in report and "holder_name" not in report
    assert report["certificate"]["status"] == "valid"
    assert report["pin_tries_left"] == 3
    unchecked = json.loads(_terminal("--reader", VPCD_READER, "--json").stdout)
    assert unchecked["certificate"]["status"].startswith("not checked")
    stranger = IssuerKeys.generate().ca.public_key.hex()
    forged = json.loads(_terminal("--reader", VPCD_READER, "--ca-key", stranger, "--json").stdout)
    assert forged["certificate"]["status"].startswith("not genuine")
    text = _terminal("--reader", VPCD_READER)
    assert "Rp300.000" not in text.stdout and "**** **** ****" in text.stdout
    assert "only with the holder's PIN" in text.stdout


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["--reader", "Virtual PCD 00 01"], None, 5, "no card in reader 'Virtual PCD 00 01'"),
        (["--reader", "No Such Reader"], None, 4, "card reader 'No Such Reader' not found"),
        ([], {"PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm"}, 3, "pcscd is not running"),
    ],
)
def test_card_info_says_what_is_missing(
    card_server: CardServer, args: list[str], env: dict[str, str] | None, code: int, message: str
) -> None:
    result = _terminal(*args, env=env)
    assert result.returncode == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_pcsc_tools_see_the_card(served_card: ServedCard) -> None:
    atr = "3B 8A 01 80 F8 F0 53 53 4E 53 4D 44 02 15"
    scan = run(["pcsc_scan", "-c", "-t", "1"])
    assert atr in scan.stdout
    opensc = run(["opensc-tool", "-r", "0", "-a"])
    assert opensc.stdout.strip().lower() == atr.replace(" ", ":").lower()
    select = run(["opensc-tool", "-r", "0", "-s", "00:A4:04:00:08:F0:53:53:4E:53:4D:44:02:00"])
    assert "Received (SW1=0x90, SW2=0x00)" in select.stdout


def test_console_scripts_and_control_from_a_shell(card_server: CardServer, tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    made = run([str(BIN / "ssn-sim"), "card", "new", "--out", str(path)])
    assert made.returncode == 0, made.stderr
    shown = run([str(BIN / "ssn-sim"), "card", "show", str(path)])
    assert json.loads(shown.stdout)["state"] == "BLANK"
    ctl = [*_sim(), "ctl", "--control", str(card_server.control)]
    swapped = run([*ctl, "swap", str(path)])
    assert swapped.returncode == 0, swapped.stderr
    status = json.loads(run([*ctl, "status"]).stdout)
    assert (status["inserted"], status["state_file"]) == (True, str(path))
    bad = run([*ctl, "arm", "during", "--ins", "NOPE"])
    assert bad.returncode == 2 and "unknown instruction" in bad.stderr
    missing = run([*_sim(), "serve", "--state", str(tmp_path / "missing.json")])
    assert missing.returncode == 2 and "cannot read card file" in missing.stderr
