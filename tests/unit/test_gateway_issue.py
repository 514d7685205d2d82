"""``ssn-gateway cards issue``: a blank card in a reader becomes a registered, personalized card,
or nothing changes at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from drivers.card.protocol import Ins
from drivers.card.session import CardSession
from drivers.card.transport import CardTransport
from host_gateway.cards import BLOCK_SPOILED, register_card
from host_gateway.db import make_engine, session_factory, transaction
from host_gateway.errors import GatewayError
from host_gateway.issuance import issue_card
from host_gateway.models import Event, HotlistEntry
from host_gateway.pki import load_anchors, load_issuer_keys
from ledger.crypto import SigningKey
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
    assert code != 0 and "card 6060010000000011 does not exist" in err


def test_no_card_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli(
        "cards", "issue", "--reader", f"sim:{tmp_path / 'none.json'}", "--holder", "Siti",
        "--programs", "APBD", "--pin", "123456",
    )  # fmt: skip
    assert code != 0 and "cannot read card file" in err


def _issue_torn(cli: Cli, card_file: Path, fault: Fault) -> str:
    """Issue with the card torn at `fault` of PERSONALIZE; returns the error message."""
    card = SimulatedCard.from_file(card_file)
    card.arm(fault, ins=Ins.PERSONALIZE)
    reader = DirectReader()
    reader.insert(card)
    factory = session_factory(make_engine(cli.db))
    with transaction(factory) as session:
        keys = load_issuer_keys(session, b"kata-sandi")
    with pytest.raises(GatewayError, match="not issued") as raised, reader.connect() as connection:
        issue_card(
            factory, keys, connection, holder_name="Siti", programs=["APBD"], pin="123456",
            now=int(dt.datetime.now(dt.UTC).timestamp()), operator="petugas",
        )  # fmt: skip
    return raised.value.message


@pytest.mark.parametrize("fault", [Fault.BEFORE, Fault.DURING])
def test_card_torn_during_personalization_voids_its_number_for_good(
    cli: Cli, tmp_path: Path, fault: Fault
) -> None:
    """Torn after writing its state, the card holds a CA-signed certificate for its number
    although the host never heard back: that number must never go to another card, no load may
    be created for it, and terminals must block the card."""
    card_file = blank_card(tmp_path / "torn.json")
    message = _issue_torn(cli, card_file, fault)
    spent = "6060010000000011"
    assert f"{spent} is void and hotlisted" in message
    torn = card_state(card_file)
    if fault is Fault.DURING:
        assert torn.certificate is not None and torn.certificate.card_number == spent
    else:
        assert torn.certificate is None and torn.state.name == "BLANK"
    assert cli.json("cards", "show", spent)["status"] == "spoiled"
    with session_factory(make_engine(cli.db))() as session:
        entry = session.scalars(select(HotlistEntry).where(HotlistEntry.card_number == spent)).one()
        assert entry.reason == BLOCK_SPOILED and entry.block_order is not None
        assert any("failed: card spoiled" in e.message for e in session.scalars(select(Event)))
    code, _, err = cli(
        "loads", "create", "--card", spent, "--program", "APBD", "--amount", "1000",
        "--expiry", (dt.date.today() + dt.timedelta(days=30)).isoformat(),
    )  # fmt: skip
    assert code != 0 and "spoiled" in err
    # A retry with the same number is refused; the next card gets the next number.
    again = blank_card(tmp_path / "again.json")
    args = ["cards", "issue", "--reader", f"sim:{again}", "--holder", "Siti", "--programs", "APBD"]
    code, _, err = cli(*args, "--pin", "123456", "--number", spent)
    assert code != 0 and "already registered (spoiled)" in err
    assert card_state(again).certificate is None
    issued = cli.json(*args, "--pin", "123456")
    assert issued["number"] != spent
    assert card_state(again).certificate.card_number == issued["number"]  # type: ignore[union-attr]
    assert cli.json("cards", "show", issued["number"])["status"] == "active"


def test_a_card_left_issuing_is_spoiled_by_hotlisting_it(cli: Cli, tmp_path: Path) -> None:
    """The host died while writing the card: the number stays `issuing` (not active) until the
    operator hotlists it."""
    factory = session_factory(make_engine(cli.db))
    with transaction(factory) as session:
        register_card(
            session, load_issuer_keys(session, b"kata-sandi"), holder_name="Siti",
            programs=["APBD"], public_key=SigningKey.generate().public_key,
            now=int(dt.datetime.now(dt.UTC).timestamp()), status="issuing",
        )  # fmt: skip
    number = "6060010000000011"
    assert cli.json("cards", "show", number)["status"] == "issuing"
    assert cli.json("check")["cards_issuing"] == [number]
    code, out, _ = cli("check")
    assert code == 0 and f"`cards hotlist {number} --reason 5`" in out
    created = cli.json(
        "loads", "create", "--all", "--program", "APBD", "--amount", "1000",
        "--expiry", (dt.date.today() + dt.timedelta(days=30)).isoformat(),
    )  # fmt: skip
    assert created == []
    cli.json("cards", "hotlist", number, "--reason", str(BLOCK_SPOILED))
    assert cli.json("cards", "show", number)["status"] == "spoiled"
    assert cli.json("check")["cards_issuing"] == []


class _HotlistDuringPersonalize:
    """A transport that lets the operator hotlist the card's number while it is being written."""

    def __init__(self, inner: CardTransport, hotlist: Callable[[], None]) -> None:
        self.inner = inner
        self.hotlist: Callable[[], None] | None = hotlist

    def transmit(self, apdu: bytes) -> bytes:
        if apdu[1] == Ins.PERSONALIZE and self.hotlist is not None:
            self.hotlist()
            self.hotlist = None
        return self.inner.transmit(apdu)


def test_a_number_hotlisted_while_the_card_is_written_is_not_activated(
    cli: Cli, tmp_path: Path
) -> None:
    """The operator spoils the `issuing` number during personalization: issuance must not
    report success nor make the number active again."""
    spent = "6060010000000011"
    factory = session_factory(make_engine(cli.db))
    with transaction(factory) as session:
        keys = load_issuer_keys(session, b"kata-sandi")

    def hotlist() -> None:
        cli.json("cards", "hotlist", spent, "--reason", str(BLOCK_SPOILED))

    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(blank_card(tmp_path / "card.json")))
    with pytest.raises(GatewayError) as raised, reader.connect() as connection:
        issue_card(
            factory, keys, _HotlistDuringPersonalize(connection, hotlist), holder_name="Siti",
            programs=["APBD"], pin="123456", now=int(dt.datetime.now(dt.UTC).timestamp()),
            operator="petugas",
        )  # fmt: skip
    assert raised.value.code == "card_hotlisted"
    assert f"number {spent} was hotlisted meanwhile" in raised.value.message
    assert card_state(tmp_path / "card.json").certificate is not None  # the card was written
    assert cli.json("cards", "show", spent)["status"] == "spoiled"
    with factory() as session:
        audit = [e.message for e in session.scalars(select(Event))]
    assert f"petugas: cards issue {spent} failed: hotlisted meanwhile" in audit
    assert not any(m.startswith(f"petugas: cards issue {spent} (") for m in audit)


def test_a_card_registered_on_29_february_is_valid_five_years_to_28_february(cli: Cli) -> None:
    """Any day the gateway (or ``make up``'s seed) runs on may be a leap day."""
    leap_day = int(dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC).timestamp())
    factory = session_factory(make_engine(cli.db))
    with transaction(factory) as session:
        keys = load_issuer_keys(session, b"kata-sandi")
        issued = register_card(
            session, keys, holder_name="Siti", programs=["APBD"],
            public_key=SigningKey.generate().public_key, now=leap_day,
        )  # fmt: skip
        assert issued.card.valid_until == dt.date(2033, 2, 28)
