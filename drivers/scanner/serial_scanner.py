"""A serial barcode scanner (RS-232, USB-serial, or the simulator's pty) read by pyserial.

The address is a URL in the printer's form: ``serial:///dev/ttyUSB0?baud=9600``. The scanner
sends each code followed by CR, LF or CR LF. One daemon thread opens the port, reads codes and
hands each to ``on_code``; when the device is missing or unplugged it says so once through
``on_state`` and tries again every ``retry`` seconds, so plugging it back in just works.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import serial

from drivers.scanner.scanner import OnCode, OnState, ScannerConfigError, ScannerError

log = logging.getLogger(__name__)

READ_TIMEOUT = 0.1
"""Seconds one read waits: how soon the thread notices :meth:`SerialScanner.stop`."""
MAX_CODE = 128
"""Bytes without CR/LF after which the line is noise (wrong baud, no suffix set) and dropped."""
_TERMINATOR = re.compile(rb"[\r\n]")
_T = TypeVar("_T")


@dataclass(frozen=True)
class SerialAddress:
    """A parsed ``serial://`` scanner URL."""

    path: str
    baud: int

    @property
    def url(self) -> str:
        return f"serial://{self.path}?baud={self.baud}"


def parse_scanner_url(url: str) -> SerialAddress:
    """Check and split a scanner URL; :class:`ScannerConfigError` says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "serial":
        raise ScannerConfigError(f"scanner URL must start serial://, got {url!r}")
    if not parts.path or parts.netloc:
        raise ScannerConfigError(f"serial URL needs an absolute path: serial:///dev/..., {url!r}")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        baud = int(options.get("baud", "9600"))
    except ValueError:
        raise ScannerConfigError(f"baud must be a number in {url!r}") from None
    if baud <= 0:
        raise ScannerConfigError(f"baud must be positive in {url!r}")
    return SerialAddress(parts.path, baud)


class SerialScanner:
    """Codes from a serial scanner, read in a background thread (see the module docstring)."""

    def __init__(self, url: str, *, retry: float = 2.0) -> None:
        self.address = parse_scanner_url(url)
        self.description = self.address.url
        self.retry = retry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_code: OnCode, on_state: OnState) -> None:
        if self._thread is not None:
            raise RuntimeError("the scanner is already started")
        self._thread = threading.Thread(
            target=self._run, args=(on_code, on_state), name="scanner", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self, on_code: OnCode, on_state: OnState) -> None:
        working: bool | None = None  # what on_state last said; None: nothing yet
        while not self._stop.is_set():
            try:
                port = self._open()
                with port:
                    if working is not True:
                        working = True
                        _call(on_state, None)
                    self._read(port, on_code)
            except ScannerError as exc:
                if working is not False:
                    working = False
                    _call(on_state, exc)
            self._stop.wait(self.retry)

    def _open(self) -> serial.Serial:
        try:
            port = serial.Serial(
                self.address.path, baudrate=self.address.baud, timeout=READ_TIMEOUT
            )
            port.reset_input_buffer()  # what came before we listened is not a scan now
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScannerError(f"{self.description}: {exc}") from exc
        return port

    def _read(self, port: serial.Serial, on_code: OnCode) -> None:
        pending = b""
        while not self._stop.is_set():
            try:
                chunk: bytes = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise ScannerError(f"{self.description}: {exc}") from exc
            *lines, pending = _TERMINATOR.split(pending + chunk)
            for line in lines:
                code = line.strip().decode("ascii", "replace")
                if code:
                    _call(on_code, code)
            if len(pending) > MAX_CODE:
                log.warning("%s: %d bytes without CR/LF dropped", self.description, len(pending))
                pending = b""


def _call(callback: Callable[[_T], None], value: _T) -> None:
    """A callback's bug is logged, never the end of the reader thread."""
    try:
        callback(value)
    except Exception:
        log.exception("scanner callback failed")
