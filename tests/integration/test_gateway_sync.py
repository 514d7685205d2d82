"""The terminal's side against a real gateway process: ``ssn-terminal init`` enrolls, the sync
client uploads the journal's outbox and downloads catalog, config, hotlist and loads; through a
proxy that cuts responses nothing is lost or doubled."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from host_gateway import postings
from host_gateway.cards import hotlist_card
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.models import Account, StoredRecord
from ledger.bodies import LoadBody, SaleBody
from ledger.cardproofs import LoadAuthorization
from ledger.record import Record
from ledger.request_auth import b64decode
from terminal import documents
from terminal.backoff import Backoff
from terminal.cli import main as terminal_main
from terminal.home import TerminalHome
from terminal.host_requests import resolutions
from terminal.journal import IntentKind
from terminal.sale import Till
from terminal.sale.evidence import settle_from_host
from terminal.sync import GatewayClient, Syncer
from tests.factories import FakeCard
from tests.fixtures.gateway import Served, World
from tests.fixtures.journal import JournalKit, Pending, complete
from tests.integration.test_gateway_faults import (
    CUT_RESPONSE,
    DROP,
    FaultyProxy,
    upload_through_kills,
)

PASS = "kunci-terminal"


@pytest.fixture
def home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSN_TERMINAL_PASSPHRASE", PASS)
    return tmp_path / "terminal"


def init_terminal(served: Served, home_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    code = served.world.enrollment_code()
    exit_code = terminal_main(
        ["init", "--gateway", served.server.base_url, "--code", code,
         "--data-dir", str(home_dir), "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert exit_code == 0, err
    value: dict = json.loads(out)
    return value


def sell(home: TerminalHome, card: FakeCard, count: int) -> list[Record]:
    kit = JournalKit(key=home.key, terminal_id=home.config.terminal_id)
    kit.cards[1] = card
    return [complete(home.journal, kit.sale(1, time=int(time.time()))) for _ in range(count)]


def apply_load(home: TerminalHome, card: FakeCard, authorization_raw: bytes) -> Record:
    authorization = LoadAuthorization.decode(authorization_raw)
    kit = JournalKit(key=home.key, terminal_id=home.config.terminal_id)
    now = int(time.time())
    draft = LoadBody(card.number, card.certificate.encode(), authorization_raw, b"")
    intent = kit._intent(IntentKind.LOAD, card, draft.to_value(), now)
    receipt = card.apply_load(authorization, home.config.terminal_id, now)
    receipt = dataclasses.replace(receipt, nonce=intent.nonce).signed_by(card.key)
    body = dataclasses.replace(draft, card_receipt=receipt.encode()).to_value()
    return complete(home.journal, Pending(intent, body))


def shop_balance(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        code = postings.shop(world.shop_id)
        return int(session.scalar(select(Account.balance).where(Account.code == code)) or 0)


def test_init_then_sync_round_trip(
    served: Served, home_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = served.world
    enrolled = init_terminal(served, home_dir, capsys)
    assert enrolled["terminal_id"] == "SMD-0002"
    assert enrolled["first_sync"]["ok"] and enrolled["first_sync"]["documents"]["catalog"] == 1
    card = world.card()
    world.authorize(card, 300_000)
    with TerminalHome.open(home_dir) as home:
        client = GatewayClient(served.server.base_url, home.config.terminal_id, home.key)
        syncer = Syncer(home.journal, client, dict(home.config.authority_keys))
        assert syncer.run_once().pending_loads == 0  # S4: not a card this terminal served
        presented = client.call("GET", f"/v1/cards/{card.number}")  # the card is presented
        assert len(presented["pending_loads"]) == 1
        assert syncer.run_once().pending_loads == 1  # now it comes with the terminal's loads
        pending = documents.pending_loads(home.journal)
        assert pending[0].encode() == b64decode(presented["pending_loads"][0])
        load = apply_load(home, card, pending[0].encode())
        sales = sell(home, card, 3)
        with transaction(world.gateway.factory) as session:
            hotlist_card(session, world.gateway.keys, world.card().number, 1, "hilang", 0)
        report = syncer.run_once()
        client.close()
        assert report.ok, report.error
        assert (report.uploaded, report.accepted, report.outbox) == (4, 4, 0)
        assert report.pending_loads == 0  # applied: dropped from the terminal's list
        assert documents.current_hotlist(home.journal).version == 1
        offline = home.journal.offline_state()
        assert offline.synced_through_seq == 4 and offline.card_total_since_sync == 0
    with transaction(world.gateway.factory) as session:
        held = session.scalars(select(StoredRecord.id)).all()
        assert {r.id.bytes for r in [load, *sales]} <= set(held)
        assert run_check(session).ok
    assert shop_balance(world) == -210_000
    code = terminal_main(["sync", "--data-dir", str(home_dir), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["uploaded"] == 0


def test_sync_through_cut_responses_is_exactly_once(
    served: Served, home_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = served.world
    init_terminal(served, home_dir, capsys)
    card = world.funded_card(100_000_000)
    proxy = FaultyProxy(served.server.port)
    proxy.modes.extend([CUT_RESPONSE, DROP, CUT_RESPONSE, CUT_RESPONSE])
    try:
        with TerminalHome.open(home_dir) as home:
            sales = sell(home, card, 60)
            client = GatewayClient(
                f"http://127.0.0.1:{proxy.port}",
                home.config.terminal_id,
                home.key,
                backoff=Backoff(attempts=8, base=0.01, cap=0.05),
            )
            report = Syncer(
                home.journal, client, dict(home.config.authority_keys), batch=20
            ).run_once()
            client.close()
            assert report.ok, report.error
            assert report.outbox == 0 and home.journal.counts().outbox == 0
    finally:
        proxy.close()
    assert proxy.seen.count(CUT_RESPONSE) == 3
    with transaction(world.gateway.factory) as session:
        held = session.scalars(select(StoredRecord.id)).all()
        assert len(held) == len(set(held)) == 61
        assert {s.id.bytes for s in sales} <= set(held)
        assert run_check(session).ok
    assert shop_balance(world) == -70_000 * 60


def test_kill_9_of_the_host_while_the_terminal_syncs(
    served: Served, home_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real sync client, not a test uploader: the host (server and verifier workers) is
    killed twice mid-ingest; the terminal keeps its outbox, retries, and every sale ends up at
    the host exactly once, acknowledged on the terminal."""
    world, server = served.world, served.server
    server.stop()
    server.workers = 2
    server.start()
    init_terminal(served, home_dir, capsys)
    card = world.funded_card(500_000_000)
    with TerminalHome.open(home_dir) as home:
        sales = sell(home, card, 1_200)
        client = GatewayClient(
            server.base_url,
            home.config.terminal_id,
            home.key,
            timeout=10,
            backoff=Backoff(attempts=6, base=0.05, cap=0.3),
        )
        syncer = Syncer(home.journal, client, dict(home.config.authority_keys), batch=200)
        reports = []

        def terminal_side() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                reports.append(syncer.run_once())
                if reports[-1].ok and reports[-1].outbox == 0:
                    return

        upload_through_kills(world, server, [399, 799], terminal_side, timeout=150)
        client.close()
        assert any(not r.ok for r in reports), "the kills did interrupt a sync"
        assert reports[-1].ok and home.journal.counts().outbox == 0
    with transaction(world.gateway.factory) as session:
        held = session.scalars(select(StoredRecord.id)).all()
        assert len(held) == len(set(held)) == len(sales) + 1  # + the funding load
        assert {s.id.bytes for s in sales} <= set(held)
        assert run_check(session).ok
    assert shop_balance(world) == -70_000 * len(sales)


def test_unreachable_host_keeps_the_outbox(
    served: Served, home_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_terminal(served, home_dir, capsys)
    card = served.world.funded_card()
    served.server.stop()
    with TerminalHome.open(home_dir) as home:
        sell(home, card, 2)
        client = GatewayClient(
            served.server.base_url,
            home.config.terminal_id,
            home.key,
            backoff=Backoff(attempts=3, base=0.01, cap=0.02),
        )
        report = Syncer(home.journal, client, dict(home.config.authority_keys)).run_once()
        client.close()
        assert not report.ok and "unreachable" in (report.error or "")
        assert home.journal.counts().outbox == 2


def test_card_log_evidence_settles_a_stuck_sale_through_the_real_gateway(
    served: Served, home_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The terminal's side of "the host sees every counter", over real HTTP: its stuck intent
    is reported, a card-log entry it read goes up as evidence, the host relays the card's own
    message back as the resolution, the terminal completes the sale with it and closes it; the
    money is posted once."""
    world = served.world
    init_terminal(served, home_dir, capsys)
    card = world.funded_card()
    with TerminalHome.open(home_dir) as home:
        kit = JournalKit(key=home.key, terminal_id=home.config.terminal_id)
        kit.cards[1] = card
        torn = kit.sale(1, time=int(time.time()))  # the card debited, the answer was lost
        home.journal.begin_intent(torn.intent)
        home.journal.mark_unresolved(torn.intent.id, "card pulled before answering")
        client = GatewayClient(served.server.base_url, home.config.terminal_id, home.key)
        syncer = Syncer(home.journal, client, dict(home.config.authority_keys))
        first = syncer.run_once()
        assert first.ok, first.error
        assert (first.stuck_intents_reported, first.resolutions) == (1, 0)

        proof = SaleBody.from_value(torn.body).card_proof  # as another terminal read it
        home.journal.add_evidence(card.number, card.counter, proof, int(time.time()))
        second = syncer.run_once()
        assert second.ok, second.error
        assert (second.evidence_uploaded, second.resolutions) == (1, 1)
        assert home.journal.pending_evidence(10) == []
        assert resolutions(home.journal)[torn.intent.id].card_message == proof

        settled = settle_from_host(Till(home.config, home.journal))  # next card presented
        assert [(r.kind, r.result) for r in settled] == [("sale", "completed")]
        third = syncer.run_once()  # uploads the record, closes the intent at the host
        assert third.ok, third.error
        assert (third.uploaded, third.accepted) == (1, 1)
        fourth = syncer.run_once()
        client.close()
        assert fourth.ok and fourth.resolutions == 0
    with transaction(world.gateway.factory) as session:
        assert run_check(session).ok
    assert shop_balance(world) == -70_000  # paid once: from suspense to the shop
