"""The serial scanner through a real pty and real pyserial: the simulator "scans", the driver
hands the app each code, and an unplugged scanner comes back by itself."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.scanner.scanner import ScannerError
from drivers.scanner.serial_scanner import SerialScanner
from simulators.cli import main as ssn_sim
from simulators.scanner.device import ScannerSimulator, send_codes

CODES = ["8991234567890", "4006381333931", "96385074", "PLU-0042"]


class Received:
    """What the app's two callbacks got."""

    def __init__(self) -> None:
        self.codes: queue.Queue[str] = queue.Queue()
        self.states: queue.Queue[ScannerError | None] = queue.Queue()

    def next_codes(self, count: int) -> list[str]:
        return [self.codes.get(timeout=5) for _ in range(count)]


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[tuple[ScannerSimulator, SerialScanner, Received]]:
    link, control = tmp_path / "scanner.tty", tmp_path / "scanner.ctl"
    received = Received()
    with ScannerSimulator(link, control) as simulator:
        scanner = SerialScanner(f"serial://{link}?baud=9600", retry=0.05)
        scanner.start(received.codes.put, received.states.put)
        assert received.states.get(timeout=5) is None  # open and listening
        yield simulator, scanner, received
        scanner.stop()


def test_codes_scanned_in_a_row_arrive_whole_and_in_order(
    listening: tuple[ScannerSimulator, SerialScanner, Received],
) -> None:
    simulator, _, received = listening
    assert simulator.control is not None
    send_codes(simulator.control, CODES)
    assert received.next_codes(len(CODES)) == CODES
    simulator.scan("8991234567890")
    assert received.next_codes(1) == ["8991234567890"]


@pytest.mark.parametrize("suffix", [b"\n", b"\r\n"])
def test_lf_and_crlf_scanners_give_the_same_codes(tmp_path: Path, suffix: bytes) -> None:
    received = Received()
    with ScannerSimulator(tmp_path / "s.tty", suffix=suffix) as simulator:
        scanner = SerialScanner(f"serial://{tmp_path}/s.tty", retry=0.05)
        scanner.start(received.codes.put, received.states.put)
        assert received.states.get(timeout=5) is None
        for code in CODES[:2]:
            simulator.scan(code)
        assert received.next_codes(2) == CODES[:2]
        scanner.stop()
    assert received.codes.empty()  # no empty code between CR and LF


def test_an_unplugged_scanner_is_reported_and_comes_back(
    tmp_path: Path, listening: tuple[ScannerSimulator, SerialScanner, Received]
) -> None:
    simulator, _, received = listening
    simulator.stop()  # the cable is pulled
    assert isinstance(received.states.get(timeout=5), ScannerError)
    with ScannerSimulator(simulator.link) as again:  # plugged back in: a new tty, same link
        assert received.states.get(timeout=5) is None
        again.scan(CODES[0])
        assert received.next_codes(1) == [CODES[0]]


def test_ssn_sim_scanner_serves_a_tty_and_scans_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "scanner.tty"
    serve = subprocess.Popen(
        [sys.executable, "-m", "simulators.scanner", "serve", "--link", str(link), "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        where = json.loads(serve.stdout.readline())
        assert Path(where["tty"]).exists() and Path(where["link"]).resolve() == Path(where["tty"])
        received = Received()
        scanner = SerialScanner(f"serial://{link}")
        scanner.start(received.codes.put, received.states.put)
        assert received.states.get(timeout=5) is None
        assert ssn_sim(["scanner", "scan", "--control", where["control"], *CODES[:3]]) == 0
        assert received.next_codes(3) == CODES[:3]
        scanner.stop()
    finally:
        serve.terminate()
        assert serve.wait(timeout=10) == 0
    assert not link.exists() and not Path(where["control"]).exists()
    capsys.readouterr()
    assert ssn_sim(["scanner", "scan", "--control", where["control"], CODES[0]]) == 2
    assert "no scanner simulator" in capsys.readouterr().err
