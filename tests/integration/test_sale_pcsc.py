"""`ssn-terminal sale` through real pcscd, killed with SIGKILL at every step and at random
instants, with the card torn at every fault point: after recovery the card and the journal agree
exactly (M3, R1). Counts are printed (run with -s to see them)."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.catalog import demo_catalog
from ledger.bodies import SaleBody
from ledger.cardproofs import DebitProof
from ledger.documents import SignedDocument
from ledger.record import RecordType
from ledger.verify import verify_chain
from simulators.card.store import CardStore
from simulators.printer.server import PrinterSimulator
from terminal import crashpoints
from terminal.documents import install_catalog
from terminal.home import TerminalHome
from terminal.journal import Journal
from tests.factories import T0
from tests.fixtures.card import PIN, VPCD_READER, ServedCard
from tests.fixtures.sale import OIL, RICE_5KG, SUPERVISOR_PIN, TERMINAL_ID, terminal_config

pytestmark = pytest.mark.pcscd  # every test here serves its card into vpcd slot 0

PASSPHRASE = "integration passphrase"
ITEMS = f"{RICE_5KG},{OIL}x2"
SALE_TOTAL = 70_000 + 2 * 15_700


@dataclass
class Terminal:
    data_dir: Path
    card: ServedCard

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "SSN_TERMINAL_PASSPHRASE": PASSPHRASE, **extra}

    def command(self, *args: str) -> list[str]:
        base = [sys.executable, "-c", "from terminal.cli import main; raise SystemExit(main())"]
        return [*base, *args, "--data-dir", str(self.data_dir)]

    def card_command(self, *args: str) -> list[str]:
        return [*self.command(*args), "--reader", VPCD_READER, "--json"]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.card_command(*args),
            check=False,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def sale(self, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run("sale", "--items", ITEMS, "--pin", PIN, **env)

    def recover(self) -> dict[str, Any]:
        """What the cashier does next: present the card again (a balance inquiry settles it)."""
        self.card.server.call("insert")
        assert self.card.reader.wait_for_card(5)
        done = self.run("balance", "--pin", PIN)
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@pytest.fixture
def terminal(
    served_card: ServedCard, printer_sim: PrinterSimulator, tmp_path: Path
) -> Iterator[Terminal]:
    data_dir = tmp_path / "terminal"
    config = dataclasses.replace(
        terminal_config(served_card.issuer), printer_url=printer_sim.tcp_url
    )
    home = TerminalHome.create(data_dir, config, passphrase=PASSPHRASE.encode(), synced_at=None)
    document = SignedDocument.sign(
        "catalog", 1, T0, demo_catalog().to_content(), served_card.issuer.authority
    )
    install_catalog(home.journal, config.authority_keys, document.encode(), T0)
    home.journal.mark_synced(int(time.time()))
    home.close()
    yield Terminal(data_dir, served_card)


def agreement(terminal: Terminal) -> tuple[int, int]:
    """Card log and journal hold the same debits, balances add up, nothing is left open.

    Returns (debits on the card by this terminal, sale records)."""
    card = CardStore(terminal.card.path).load()
    on_card = {
        (entry.message.counter, entry.message.nonce)
        for entry in card.log
        if isinstance(entry.message, DebitProof) and entry.message.terminal_id == TERMINAL_ID
    }
    home = TerminalHome.open(terminal.data_dir, passphrase=PASSPHRASE.encode())
    try:
        journal: Journal = home.journal
        sales = [r for r in journal.records() if r.type is RecordType.SALE]
        in_journal = {
            (proof.counter, proof.nonce)
            for proof in (DebitProof.decode(SaleBody.from_value(r.body).card_proof) for r in sales)
        }
        assert on_card == in_journal, "card and journal disagree about the debits"
        assert journal.open_intents() == [], "an operation was left unsettled"
        report = verify_chain(journal.records(), home.key.public_key, home.config.anchors)
        assert report.ok, report.reason
    finally:
        home.close()
    balance = sum(p.balance for p in card.purses)
    assert balance == 400_000 - SALE_TOTAL * len(in_journal)
    return len(on_card), len(in_journal)


def test_sale_through_pcscd_then_cancel_in_the_same_session(terminal: Terminal) -> None:
    done = terminal.sale()
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "completed"
    assert outcome["card_total"] == SALE_TOTAL
    assert outcome["card"].endswith(terminal.card.number[-4:])
    assert agreement(terminal) == (1, 1)
    verified = subprocess.run(
        [*terminal.command("verify-ledger"), "--json"],
        check=False,
        env=terminal.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # Through real pcscd: a sale cancelled before the card leaves the reader.
    cancelled = terminal.run(
        "sale", "--items", ITEMS, "--pin", PIN, "--cancel",
        "--supervisor-pin", SUPERVISOR_PIN, "--reason", "salah",
    )  # fmt: skip
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    void = json.loads(cancelled.stdout)
    assert void["status"] == "completed" and void["voided_record_id"]
    assert sum(p.balance for p in CardStore(terminal.card.path).load().purses) == (
        400_000 - SALE_TOTAL
    )
    voids = [r for r in _journal_records(terminal) if r.type is RecordType.VOID]
    assert len(voids) == 1


def _journal_records(terminal: Terminal) -> list[Any]:
    home = TerminalHome.open(terminal.data_dir, passphrase=PASSPHRASE.encode())
    try:
        return home.journal.records()
    finally:
        home.close()


def test_wrong_pin_and_no_card_are_clear(terminal: Terminal) -> None:
    wrong = terminal.run("sale", "--items", ITEMS, "--pin", "999999")
    assert wrong.returncode == 10
    assert json.loads(wrong.stdout)["reason"] == "wrong_pin"
    terminal.card.server.call("remove")
    assert terminal.card.reader.wait_for_removal(5)
    missing = terminal.run("sale", "--items", ITEMS, "--pin", PIN, "--wait", "0.2")
    assert missing.returncode == 5
    assert "Tempelkan kartu SSN" in missing.stderr
    bad = terminal.run("sale", "--items", "beras", "--pin", PIN)
    assert bad.returncode == 2 and "not an item" in bad.stderr


@pytest.mark.parametrize("point", crashpoints.POINTS)
def test_kill_at_each_step_then_recover(terminal: Terminal, point: str) -> None:
    killed = terminal.sale(SSN_CRASH_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    terminal.recover()
    debits, records = agreement(terminal)
    # Killed after the intent: never sent; after the card answered or later: the sale stands.
    assert (debits, records) == ((0, 0) if point == "after-intent" else (1, 1))


@pytest.mark.parametrize("fault", ["before", "during", "after"])
def test_card_torn_at_each_fault_point_then_recover(terminal: Terminal, fault: str) -> None:
    terminal.card.server.call("arm", fault=fault, ins="DEBIT")
    torn = terminal.sale()
    outcome = json.loads(torn.stdout)
    if fault == "after":
        # The answer arrived before the card left: the sale is complete.
        assert outcome["status"] == "completed"
    else:
        assert (torn.returncode, outcome["reason"]) == (11, "card_removed")
    if fault != "after":
        terminal.card.put_back()
    terminal.recover()
    debits, records = agreement(terminal)
    assert (debits, records) == ((0, 0) if fault == "before" else (1, 1))


def test_kill_at_random_instants(terminal: Terminal) -> None:
    """SIGKILL a sale at random moments; after each, recovery leaves card and journal equal."""
    rng = random.Random(20261123)
    kills = completed = 0
    for _ in range(12):
        process = subprocess.Popen(
            terminal.card_command("sale", "--items", f"{OIL}", "--pin", PIN),
            env=terminal.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.3, 1.6))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=30)
        if process.returncode == 0:
            completed += 1
        terminal.recover()
        card = CardStore(terminal.card.path).load()
        on_card = [
            e
            for e in card.log
            if isinstance(e.message, DebitProof) and e.message.terminal_id == TERMINAL_ID
        ]
        home = TerminalHome.open(terminal.data_dir, passphrase=PASSPHRASE.encode())
        try:
            sales = [r for r in home.journal.records() if r.type is RecordType.SALE]
            assert len(sales) == len(on_card)
            assert home.journal.open_intents() == []
        finally:
            home.close()
    print(f"\nrandom kills: {kills} killed, {completed} completed untouched, 12 runs")
    assert kills > 0
