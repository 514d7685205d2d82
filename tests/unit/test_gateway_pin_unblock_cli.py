"""``ssn-gateway cards unblock-pin``: an operator signs an order for a PIN-blocked holder, or
applies it at once to the card in a reader at the office; ``cards show`` tells where it is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from drivers.card.errors import WrongPin
from drivers.card.session import CardSession
from simulators.card.card import SimulatedCard
from simulators.card.direct import DirectReader
from simulators.card.state import CardData
from simulators.card.store import CardStore
from tests.unit.test_gateway_cli import Cli
from tests.unit.test_gateway_issue import _ca_keys

PIN = "246810"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """An initialized gateway with one program, as for ``cards issue``."""
    monkeypatch.setenv("SSN_GATEWAY_PASSPHRASE", "kata-sandi")
    monkeypatch.setenv("SSN_GATEWAY_HOME", str(tmp_path / "home"))
    tool = Cli(capsys, f"sqlite:///{tmp_path / 'gw.db'}")
    tool.json("init")
    tool.json("programs", "add", "--code", "APBD", "--name", "APBD Sembako")
    return tool


def _issued_card(cli: Cli, path: Path) -> str:
    CardStore(path).create(CardData.blank())
    issued = cli.json(
        "cards", "issue", "--reader", f"sim:{path}", "--holder", "Siti Aminah",
        "--programs", "APBD", "--pin", PIN,
    )  # fmt: skip
    number: str = issued["number"]
    return number


def _block_pin(path: Path) -> None:
    store = CardStore(path)
    store.save(store.load().replace(pin_tries_left=0))


def _pin_works(path: Path, ca_keys: dict[bytes, bytes]) -> bool:
    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(path))
    with reader.connect() as connection:
        session = CardSession(connection, ca_keys)
        session.read_card(dt.date.today())
        try:
            session.verify_pin(PIN)
        except WrongPin:
            return False
    return True


def test_an_order_is_signed_once_and_shown(cli: Cli, tmp_path: Path) -> None:
    number = _issued_card(cli, tmp_path / "card.json")
    order = cli.json("cards", "unblock-pin", number, "--operator", "rina", "--tries", "2")
    assert (order["unblock_seq"], order["tries"], order["state"]) == (1, 2, "open")
    assert order["created_by"] == "rina"
    code, _, err = cli("cards", "unblock-pin", number, "--operator", "budi")
    assert code != 0 and "order 1 open" in err and "rina" in err
    shown = cli.json("cards", "show", number)["pin_unblocks"]
    assert [(o["unblock_seq"], o["state"]) for o in shown] == [(1, "open")]
    code, out, _ = cli("cards", "show", number)
    assert code == 0 and "PIN unblock #1 (2 tries) open" in out
    code, _, err = cli("cards", "unblock-pin", "6060019999999996", "--operator", "rina")
    assert code != 0 and "does not exist" in err


def test_at_the_office_the_open_order_is_applied_through_the_reader(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "card.json"
    number = _issued_card(cli, path)
    reader = ["--reader", f"sim:{path}"]
    # A card whose PIN is not blocked gets nothing (no order spent on it).
    code, _, err = cli("cards", "unblock-pin", number, "--operator", "rina", *reader)
    assert code != 0 and "nothing to unblock" in err
    assert cli.json("cards", "show", number)["pin_unblocks"] == []
    _block_pin(path)
    cli.json("cards", "unblock-pin", number, "--operator", "rina")  # order 1, still open
    applied = cli.json("cards", "unblock-pin", number, "--operator", "rina", *reader)
    assert (applied["unblock_seq"], applied["state"]) == (1, "applied")
    assert applied["applied_terminal"] == "DINSOS-1"
    assert CardStore(path).load().pin_tries_left == 3
    assert _pin_works(path, _ca_keys(cli))  # the holder's own PIN, unchanged
    shown = cli.json("cards", "show", number)["pin_unblocks"]
    assert [(o["unblock_seq"], o["state"]) for o in shown] == [(1, "applied")]
    # Another card in the reader than the one named: nothing is signed, nothing applied.
    other_path = tmp_path / "other.json"
    other = _issued_card(cli, other_path)
    _block_pin(other_path)
    code, _, err = cli("cards", "unblock-pin", number, "--operator", "rina",
                       "--reader", f"sim:{other_path}")  # fmt: skip
    assert code != 0 and f"is {other}, not {number}" in err
    assert CardStore(other_path).load().pin_tries_left == 0
    assert cli.json("cards", "show", other)["pin_unblocks"] == []
