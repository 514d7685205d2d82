"""The simulator around the card application: its state file, the control channel of a served
card, the ATR, and the ``ssn-sim card`` commands (run in-process)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from console import UserError, build_parser
from drivers.card.protocol import AID, CardState
from drivers.card.session import CardSession
from drivers.card.transport import CardRemoved
from simulators.card.card import ATR, Fault, SimulatedCard, parse_ins
from simulators.card.control import CardService, ControlError, ControlServer, control_call
from simulators.card.direct import DirectReader
from simulators.card.issuance import IssuerKeys
from simulators.card.state import CardData, CardFileError
from simulators.card.store import CardStore
from tests.factories import real_clock_expiry
from tests.fixtures.card import PIN, TODAY, DirectCard, debit_request, issue_file


def test_atr_is_well_formed() -> None:
    # TS, T0 (TD1 present, 10 historical bytes), TD1 (T=1), historical bytes, TCK
    assert ATR[0] == 0x3B
    assert ATR[1] & 0x0F == len(ATR) - 4
    assert ATR[2] == 0x01
    assert ATR[3:-1] == bytes([0x80, 0xF8]) + AID
    check = 0
    for byte in ATR[1:]:
        check ^= byte
    assert check == 0  # TCK makes the XOR of T0..TCK zero


def test_state_file_round_trips_and_keeps_secrets_off_screen(
    direct_card: DirectCard, capsys: pytest.CaptureFixture[str]
) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    session.debit(debit_request(quantities=((1, 5_000),)))
    disk = direct_card.disk()
    assert CardData.from_json(json.loads(json.dumps(disk.to_json()))) == disk
    assert oct(direct_card.path.stat().st_mode & 0o777) == "0o600"
    parser = _parser()
    assert cli_run(parser, ["card", "show", str(direct_card.path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["purses"][0] == {"code": "APBD", "balance": 230_000, "expiry": "2026-12-31"}
    assert shown["counter"] == 3 and shown["log"][-1]["kind"] == "DEBIT"
    text = json.dumps(shown)
    assert disk.key_seed is not None and disk.key_seed.hex() not in text
    assert disk.pin_hash is not None and disk.pin_hash.hex() not in text
    assert "pin_hash" not in shown and "key_seed" not in shown


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda v: "not json {",
        lambda v: json.dumps({**v, "format": "other"}),
        lambda v: json.dumps({**v, "counter": -1}),
        lambda v: json.dumps({**v, "counter": v["counter"] + 1}),  # disagrees with the log
        lambda v: json.dumps({**v, "key_seed": "00" * 32}),  # not the certified key
        lambda v: json.dumps({**v, "purses": v["purses"] * 2}),
        lambda v: json.dumps({**v, "log": [*v["log"][:1], "0102"]}),
        lambda v: json.dumps({**v, "pin_tries_left": 9}),
    ],
)
def test_a_corrupt_state_file_is_refused(
    direct_card: DirectCard, corrupt: Callable[[dict[str, Any]], str]
) -> None:
    value = CardStore(direct_card.path).load().to_json()
    direct_card.path.write_text(corrupt(value))  # a plain JSON file (the earlier format)
    with pytest.raises(CardFileError):
        CardStore(direct_card.path).load()


def test_state_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CardStore(tmp_path / "card.json")
    first = CardData.blank()
    store.save(first)
    second = first.replace(holder_name="Baru")

    def crash(*_: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        CardStore(store.path).create(second, overwrite=True)  # a whole new file: swapped in
    monkeypatch.undo()
    assert store.load() == first  # the torn write left the old state whole
    CardStore(store.path).create(second, overwrite=True)
    assert store.load() == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json"]


@pytest.mark.parametrize("torn_at", [0, 1, 40, 90, 200, -1])
def test_a_save_torn_at_any_byte_leaves_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, torn_at: int
) -> None:
    path = tmp_path / "card.json"
    store = CardStore(path)
    states = [CardData.blank().replace(holder_name=f"Nama {n}") for n in range(4)]
    for data in states[:3]:  # the third save goes back to the first slot
        store.save(data)
    real_pwrite = os.pwrite

    def torn(fd: int, data: bytes, offset: int) -> int:
        real_pwrite(fd, data[: torn_at % len(data)], offset)
        raise OSError(5, "power lost")

    monkeypatch.setattr(os, "pwrite", torn)
    with pytest.raises(OSError):
        store.save(states[3])
    monkeypatch.undo()
    # The old state, or the new one when every byte of it happened to be on disk: never a mix.
    assert CardStore(path).load() in (states[2], states[3])
    if 0 <= torn_at < 200:
        assert CardStore(path).load() == states[2]
    store = CardStore(path)
    store.load()
    store.save(states[3])  # and the card goes on from there
    assert CardStore(path).load() == states[3]


def test_a_plain_json_state_file_is_read_and_converted_on_save(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    first = CardData.blank().replace(holder_name="Lama")
    path.write_text(json.dumps(first.to_json()))
    store = CardStore(path)
    assert store.load() == first
    store.save(first.replace(holder_name="Baru"))
    store.save(first.replace(holder_name="Baru lagi"))
    assert CardStore(path).load().holder_name == "Baru lagi"
    assert not path.read_bytes().startswith(b"{")


def test_a_file_with_both_slots_torn_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    CardStore(path).create(CardData.blank())
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # the only slot's payload no longer matches its checksum
    path.write_bytes(bytes(raw))
    with pytest.raises(CardFileError, match="no whole state"):
        CardStore(path).load()


def test_parse_ins() -> None:
    assert parse_ins("DEBIT") == 0x30
    assert parse_ins("debit") == 0x30
    assert parse_ins("34") == 0x34
    assert parse_ins(None) is None and parse_ins("any") is None
    with pytest.raises(ValueError):
        parse_ins("BOGUS")


# --- control channel ----------------------------------------------------------------------


def test_control_channel_moves_the_card_and_arms_faults(
    direct_card: DirectCard, tmp_path: Path
) -> None:
    service = CardService(direct_card.reader, direct_card.card)
    server = ControlServer(tmp_path / "c.ctl", service)
    server.start()
    try:
        status = control_call(server.path, {"op": "status"})
        assert status["inserted"] and status["card"]["state"] == "ACTIVE"
        assert control_call(server.path, {"op": "remove"})["inserted"] is False
        assert not direct_card.reader.card_present()
        control_call(server.path, {"op": "insert"})
        armed = control_call(server.path, {"op": "arm", "fault": "during", "ins": "DEBIT"})
        assert armed["armed"] == [{"fault": "during", "ins": "DEBIT"}]
        session = direct_card.session()
        session.verify_pin(PIN)
        with pytest.raises(CardRemoved):
            session.debit(debit_request())
        status = control_call(server.path, {"op": "status"})
        assert status["inserted"] is False
        assert status["work"]["commands"] >= 2 and status["work"]["busy_ms"] > 0
        other = tmp_path / "other.json"
        issue_file(other, direct_card.issuer, serial=2)
        swapped = control_call(server.path, {"op": "swap", "state": str(other)})
        assert swapped["card"]["card_number"] == "6060010000000029"
        assert direct_card.reader.card is service.card
        latency = control_call(server.path, {"op": "latency", "apdu_ms": 15, "crypto_ms": 150})
        assert latency["latency"] == {"apdu_ms": 15.0, "crypto_ms": 150.0}
        for bad in (
            {"op": "fly"},
            {"op": "arm", "fault": "sideways"},
            {"op": "swap"},
            {"op": "swap", "state": str(tmp_path / "missing.json")},
            {"op": "latency", "apdu_ms": -1},
        ):
            with pytest.raises(ControlError):
                control_call(server.path, bad)
    finally:
        server.close()
    assert not server.path.exists()
    with pytest.raises(ControlError, match="cannot reach"):
        control_call(server.path, {"op": "status"})


def test_a_torn_card_can_come_back_by_itself(direct_card: DirectCard) -> None:
    service = CardService(direct_card.reader, direct_card.card)
    service.handle({"op": "arm", "fault": "after", "ins": "VERIFY_PIN", "reinsert_after": 0.01})
    session = direct_card.session()
    session.verify_pin(PIN)  # answered, then the card left
    assert direct_card.reader.wait_for_card(5)
    assert direct_card.card.armed == ()
    assert service.handle({"op": "disarm"})["ok"]


def test_faults_only_fire_on_their_instruction(direct_card: DirectCard) -> None:
    direct_card.card.arm(Fault.BEFORE, 0x30)
    session = direct_card.session()
    session.verify_pin(PIN)
    session.get_transaction()
    assert direct_card.reader.card_present()
    with pytest.raises(CardRemoved):
        session.debit(debit_request())


# --- CLI ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    return build_parser("ssn-sim", "test", ["simulators.card.cli"])


def cli_run(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_new_issue_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = _parser()
    card, keys = tmp_path / "card.json", tmp_path / "issuer.json"
    assert cli_run(parser, ["card", "new", "--out", str(card)]) == 0
    with pytest.raises(UserError, match="already exists"):
        cli_run(parser, ["card", "new", "--out", str(card)])
    assert cli_run(parser, ["card", "issuer-keys", "--out", str(keys)]) == 0
    issued = [
        "card", "issue", str(card), "--issuer", str(keys), "--number", "6060010000000011",
        "--name", "Siti Aminah", "--pin", "2580",
        "--load", f"APBD:150000:{real_clock_expiry().isoformat()}",  # issued on the real clock
    ]  # fmt: skip
    assert cli_run(parser, issued) == 0
    with pytest.raises(UserError, match="not blank"):
        cli_run(parser, issued)
    with pytest.raises(UserError, match="PURSE:AMOUNT"):
        cli_run(parser, [*issued[:-1], "APBD-150000"])
    capsys.readouterr()
    assert cli_run(parser, ["card", "show", str(card)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["state"], shown["purses"][0]["balance"]) == ("ACTIVE", 150_000)
    issuer = IssuerKeys.load(keys)
    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(card))
    session = CardSession(reader.connect(), issuer.ca_keys)
    assert session.read_card(TODAY).state == CardState.ACTIVE
    session.verify_pin("2580")
    with pytest.raises(UserError, match="cannot read card file"):
        cli_run(parser, ["card", "show", str(tmp_path / "missing.json")])
    with pytest.raises(UserError, match="cannot reach"):
        cli_run(parser, ["card", "ctl", "--control", str(tmp_path / "none.ctl"), "status"])
