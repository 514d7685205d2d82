"""The driver's status reading (raw DLE EOT bytes: missing or malformed is never "ok"), its
printer URLs, and the typed errors of transports that need no simulator."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from escpos.printer import Dummy

from drivers.printer.errors import PrinterConfigError, PrinterUnreachableError
from drivers.printer.printer import open_printer
from drivers.printer.status import Problem, is_status_byte, parse_status
from drivers.printer.transport import parse_printer_url


def test_all_fine() -> None:
    status = parse_status({1: b"\x12", 2: b"\x12", 4: b"\x12"})
    assert status.ready and status.known and status.problem() is None


@pytest.mark.parametrize(
    ("replies", "problem", "fields"),
    [
        ({1: b"\x1a", 2: b"\x32", 4: b"\x72"}, Problem.PAPER_END, {"paper_end": True}),
        ({1: b"\x1a", 2: b"\x16", 4: b"\x12"}, Problem.COVER_OPEN, {"cover_open": True}),
        ({1: b"\x1a", 2: b"\x52", 4: b"\x12"}, Problem.OFFLINE, {"online": False}),
        ({1: b"\x12", 2: b"\x12", 4: b"\x1e"}, None, {"paper_near_end": True}),
        ({1: b"\x12", 2: b"\x32", 4: b"\x12"}, Problem.PAPER_END, {"paper_end": True}),
    ],
)
def test_faults_read_from_the_status_bits(
    replies: dict[int, bytes], problem: Problem | None, fields: dict[str, bool]
) -> None:
    status = parse_status(replies)
    assert status.problem() is problem
    for name, value in fields.items():
        assert getattr(status, name) is value


@pytest.mark.parametrize(
    "replies",
    [
        {},
        {1: b"\x12", 2: b"\x12"},
        {1: b"\x12", 2: b"\x12", 4: b""},
        {1: b"\x12", 2: b"\x12", 4: b"\xff"},
        {1: b"\x00", 2: b"\x12", 4: b"\x12"},
        {1: b"\x12", 2: b"\x12", 4: b"\x12\x12"},
    ],
)
def test_missing_or_malformed_replies_are_unknown_never_ready(replies: dict[int, bytes]) -> None:
    status = parse_status(replies)
    assert not status.known and not status.ready
    assert status.problem() is Problem.UNKNOWN


def test_python_escpos_would_call_a_silent_printer_fine() -> None:
    """Why the driver reads raw bytes: python-escpos 3.1 says paper is adequate on no reply."""

    class Silent(Dummy):  # type: ignore[misc]
        def _read(self) -> bytes:
            return b""

    assert Silent().paper_status() == 2
    assert parse_status({4: b""}).paper_end is None


def test_status_byte_pattern() -> None:
    assert [b for b in range(256) if is_status_byte(b)][:4] == [0x12, 0x16, 0x1A, 0x1E]
    assert not is_status_byte(0xFF) and not is_status_byte(0x00)


def test_printer_urls() -> None:
    tcp = parse_printer_url("tcp://192.168.1.50?timeout=2.5")
    assert (tcp.scheme, tcp.target, tcp.timeout) == ("tcp", "192.168.1.50:9100", 2.5)
    serial = parse_printer_url("serial:///dev/ttyUSB0?baud=19200")
    assert (serial.target, serial.option("baud", "9600")) == ("/dev/ttyUSB0", "19200")
    assert parse_printer_url("usb://04b8:0202").target == "04b8:0202"
    assert parse_printer_url("file:///dev/usb/lp0").target == "/dev/usb/lp0"


@pytest.mark.parametrize(
    "url",
    [
        "http://printer",
        "tcp://",
        "tcp://host:99999",
        "serial://ttyUSB0",
        "usb://printer",
        "file://relative",
        "tcp://host?timeout=soon",
        "tcp://host?timeout=0",
    ],
)
def test_bad_urls_are_refused_with_a_clear_error(url: str) -> None:
    with pytest.raises(PrinterConfigError) as caught:
        open_printer(url)
    assert "tidak valid" in caught.value.cashier_message()


def test_connection_refused_is_typed() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PrinterUnreachableError) as caught:
        open_printer(f"tcp://127.0.0.1:{port}?timeout=1").print_job(b"x")
    assert "Connection refused" in str(caught.value)


def test_missing_usb_and_serial_devices_are_typed() -> None:
    with pytest.raises(PrinterUnreachableError):
        open_printer("usb://0000:0001").print_job(b"x")
    with pytest.raises(PrinterUnreachableError):
        open_printer("serial:///dev/no-such-printer").print_job(b"x")


def test_file_printer_appends_jobs_and_cannot_confirm(tmp_path: Path) -> None:
    target = tmp_path / "printer.bin"
    printer = open_printer(f"file://{target}")
    first, second = printer.print_job(b"one"), printer.print_job(b"two")
    assert target.read_bytes() == b"onetwo"
    assert not first.confirmed and not second.before.known
    with pytest.raises(PrinterUnreachableError):
        open_printer(f"file://{tmp_path}/missing/dir/printer.bin").print_job(b"x")
