"""The serial scanner's address and its promise never to raise into the cashier app."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from drivers.scanner.scanner import ScannerConfigError, ScannerError
from drivers.scanner.serial_scanner import SerialScanner, parse_scanner_url


def test_scanner_urls_are_the_printers_serial_form() -> None:
    address = parse_scanner_url("serial:///dev/ttyUSB0?baud=19200")
    assert (address.path, address.baud) == ("/dev/ttyUSB0", 19200)
    assert parse_scanner_url("serial:///dev/ttyACM0").baud == 9600


@pytest.mark.parametrize(
    "url",
    ["tcp://10.0.0.5:9100", "serial://dev/ttyUSB0", "serial:///dev/ttyS0?baud=fast", "serial:"],
)
def test_a_bad_address_is_refused_before_anything_opens(url: str) -> None:
    with pytest.raises(ScannerConfigError):
        SerialScanner(url)


def test_a_missing_device_is_reported_once_not_raised(tmp_path: Path) -> None:
    states: queue.Queue[ScannerError | None] = queue.Queue()
    scanner = SerialScanner(f"serial://{tmp_path}/no-such-tty", retry=0.01)
    scanner.start(lambda code: None, states.put)
    problem = states.get(timeout=5)
    assert isinstance(problem, ScannerError) and "no-such-tty" in str(problem)
    scanner.stop()
    assert states.empty()  # many failed retries, one report
