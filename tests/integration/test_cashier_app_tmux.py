"""The cashier app in a real terminal: tmux runs ``ssn-terminal run``, keys are sent as a
cashier types them, the screen is captured and read, the money checked in the journal and the
receipt on the printer simulator's paper."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.record import RecordType
from simulators.printer.server import PrinterSimulator
from tests.fixtures.card import PIN
from tests.fixtures.sale import OIL
from tests.fixtures.shop import CLI, PASSPHRASE, Shop

CASHIER, CASHIER_PIN, SUPERVISOR_PIN = "ani", "1357", "8642"


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def start(self, command: list[str], env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v!r}" for k, v in env.items())
        # COLUMNS/LINES from the test runner would override the tmux window's real size.
        shell = f"env -u COLUMNS -u LINES {exports} {' '.join(command)}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", "120", "-y", "36", shell],
            check=True,
        )
        # Detached, tmux keeps its default 80x24 unless told: the counter's screen is wider.
        subprocess.run(
            ["tmux", "resize-window", "-t", self.name, "-x", "120", "-y", "36"], check=True
        )

    def keys(self, *keys: str) -> None:
        time.sleep(0.3)  # a person's pace between keys that change the screen
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        time.sleep(0.3)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def screen(self) -> str:
        done = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")

    def alive(self) -> bool:
        has = subprocess.run(["tmux", "has-session", "-t", self.name], check=False)
        return has.returncode == 0

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (scripts/bootstrap installs it)")
    session = Tmux(f"ssn-{uuid.uuid4().hex[:8]}")
    yield session
    session.kill()


def staff(shop: Shop, *args: str, pin: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CLI,
            "staff",
            *args,
            "--pin-stdin",
            "--data-dir",
            str(shop.data_dir),
        ],
        input=pin + "\n",
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "SSN_TERMINAL_PASSPHRASE": PASSPHRASE},
    )
    assert done.returncode == 0, done.stderr


def test_a_sale_typed_in_a_real_terminal(
    tmp_path: Path, printer_sim: PrinterSimulator, tmux: Tmux
) -> None:
    shop = Shop.create(tmp_path, printer_sim.tcp_url)
    staff(shop, "supervisor-pin", pin=SUPERVISOR_PIN)
    staff(shop, "cashier", CASHIER, pin=CASHIER_PIN)
    command = [sys.executable, "-c", repr(CLI), "run", "--data-dir", str(shop.data_dir)]
    command += ["--reader", f"sim:{shop.cards[0]}", "--sync-interval", "3600"]
    tmux.start(command, {"SSN_TERMINAL_PASSPHRASE": PASSPHRASE, "TERM": "xterm-256color"})
    tmux.wait_for("Masuk kasir")
    tmux.type(CASHIER)
    tmux.keys("Enter")
    tmux.type(CASHIER_PIN)
    tmux.keys("Enter")
    tmux.wait_for("PIN pemegang kartu")  # the card in the reader was presented at once
    tmux.type(PIN)
    tmux.keys("Enter")
    screen = tmux.wait_for("APBD: Rp2.000.000")
    assert PIN not in screen  # the PIN never shows
    tmux.type(OIL)
    tmux.keys("Enter")
    tmux.wait_for("Minyak")
    tmux.keys("F10")
    screen = tmux.wait_for("BERHASIL")
    for key in ("f10 Bayar", "f4 PIN", "f7 Batal", "f8 Tutup", "f11 Diag"):
        assert key in screen, f"{key} not in the footer:\n{screen}"
    tmux.wait_for("Struk", timeout=30)  # printed, the cashier is told
    tmux.keys("C-q")
    deadline = time.monotonic() + 15
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmux.alive(), "the app did not quit on Ctrl+Q"
    with shop.journal() as journal:
        assert [r.type for r in journal.records()] == [RecordType.SALE]
        assert journal.pending_jobs() == []
    printer_sim.control("jobs")
    assert any(job.complete and "Minyak" in job.text for job in printer_sim.jobs())
