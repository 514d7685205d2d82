"""``ssn-gateway cards issue``: a blank card in a reader becomes a registered, personalized card,
or nothing changes at all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from drivers.card.protocol import Ins
from drivers.card.session import CardSession
from host_gateway.db import make_engine, session_factory, transaction
from host_gateway.errors import GatewayError
from host_gateway.issuance import issue_card
from host_gateway.pki import load_anchors, load_issuer_keys
from simulators.card.card import Fault, SimulatedCard
from simulators.card.direct import DirectReader
from simulators.card.state import CardData
from simulators.card.store import CardStore
from tests.unit.test_gateway_cli import Cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    monkeypatch.setenv("SSN_GATEWAY_PASSPHRASE", "kata-sandi")
    monkeypatch.setenv("SSN_GATEWAY_HOME", str(tmp_path / "home"))
    tool = Cli(capsys, f"sqlite:///{tmp_path / 'gw.db'}")
    tool.json("init")
    tool.json("programs", "add", "--code", "APBD", "--name", "APBD Sembako")
    return tool


def blank_card(path: Path) -> Path:
    CardStore(path).create(CardData.blank())
    return path


def card_state(path: Path) -> CardData:
    return CardStore(path).load()


def test_issue_personalizes_the_card_with_a_certificate_the_gateway_signed(
    cli: Cli, tmp_path: Path
) -> None:
    card_file = blank_card(tmp_path / "card.json")
    issued = cli.json(
        "cards", "issue", "--reader", f"sim:{card_file}", "--holder", "Siti Aminah",
        "--programs", "APBD", "--pin", "246810",
    )  # fmt: skip
    data = card_state(card_file)
    assert data.certificate is not None
    assert data.certificate.card_number == issued["number"]
    assert data.holder_name == "Siti Aminah"
    assert data.state.name == "ACTIVE"
    shown = cli.json("cards", "show", issued["number"])
    assert shown["status"] == "active" and shown["programs"] == ["APBD"]
    # The card answers with the certificate the gateway issued, and its PIN works.
    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(card_file))
    with reader.connect() as connection:
        session = CardSession(connection, _ca_keys(cli))
        info = session.read_card(dt.date.today())
        assert session.certificate is not None
        assert session.certificate.encode().hex() == issued["certificate"]
        session.verify_pin("246810")
    assert info.purses == ()


def _ca_keys(cli: Cli) -> dict[bytes, bytes]:
    with session_factory(make_engine(cli.db))() as session:
        return dict(load_anchors(session).ca_keys)


def test_a_card_already_issued_is_refused_and_unchanged(cli: Cli, tmp_path: Path) -> None:
    card_file = blank_card(tmp_path / "card.json")
    args = ["cards", "issue", "--reader", f"sim:{card_file}", "--holder", "Siti Aminah"]
    first = cli.json(*args, "--programs", "APBD", "--pin", "246810")
    before = card_file.read_bytes()
    code, _, err = cli(*args, "--programs", "APBD", "--pin", "111111")
    assert code != 0
    assert "already issued" in err
    assert card_file.read_bytes() == before
    assert cli.json("cards", "show", first["number"])["status"] == "active"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--programs", "APBD", "--pin", "12"], "PIN"),
        (["--programs", "NOPE", "--pin", "123456"], "unknown programs"),
        (["--programs", "APBD", "--pin", "123456", "--nik", "123"], "NIK"),
    ],
)
def test_bad_input_leaves_the_card_blank_and_registers_nothing(
    cli: Cli, tmp_path: Path, extra: list[str], message: str
) -> None:
    card_file = blank_card(tmp_path / "card.json")
    code, _, err = cli("cards", "issue", "--reader", f"sim:{card_file}", "--holder", "Siti", *extra)
    assert code != 0 and message in err
    assert card_state(card_file).state.name == "BLANK"
    code, _, err = cli("cards", "show", "6060010000000011")
    assert code != 0 and "not registered" in err


def test_no_card_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli(
        "cards", "issue", "--reader", f"sim:{tmp_path / 'none.json'}", "--holder", "Siti",
        "--programs", "APBD", "--pin", "123456",
    )  # fmt: skip
    assert code != 0 and "cannot read card file" in err


def test_card_pulled_during_personalization_registers_nothing(cli: Cli, tmp_path: Path) -> None:
    """The database transaction is rolled back: the gateway never knows a card it did not
    finish issuing (the torn card is personalized but unknown: its certificate is refused by
    nobody, yet no load can ever be created for it, and the operator issues a new card)."""
    card = SimulatedCard.from_file(blank_card(tmp_path / "card.json"))
    card.arm(Fault.DURING, ins=Ins.PERSONALIZE)
    reader = DirectReader()
    reader.insert(card)
    engine = make_engine(cli.db)
    factory = session_factory(engine)
    with (
        pytest.raises(GatewayError, match="not issued"),
        reader.connect() as connection,
        transaction(factory) as session,
    ):
        keys = load_issuer_keys(session, b"kata-sandi")
        issue_card(
            session, keys, connection, holder_name="Siti", programs=["APBD"],
            pin="123456", now=int(dt.datetime.now(dt.UTC).timestamp()),
        )  # fmt: skip
    code, _, err = cli("cards", "show", "6060010000000011")
    assert code != 0 and "not registered" in err
