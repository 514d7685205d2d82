"""The simulated scanner: a pty whose slave end is the scanner's "serial port".

Each code given to :meth:`ScannerSimulator.scan`, or written as a line to the control FIFO,
comes out of the pty followed by the suffix (CR by default, as most scanners ship). A FIFO is
the control channel because a scan needs no answer: ``echo CODE > scanner.ctl`` works too.
Like a real scanner, a code nobody reads is lost once the pty's buffer is full.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import stat
import threading
import tty
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

MAX_CODE = 64
SUFFIXES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


class ScannerSimError(Exception):
    """The simulator cannot start, or a code or control path is not acceptable."""


def check_code(code: str) -> str:
    """A code a scanner could send: 1 to 64 printable ASCII characters, no spaces."""
    if not (0 < len(code) <= MAX_CODE and code.isascii() and code.isprintable()) or " " in code:
        raise ScannerSimError(f"a code is 1 to {MAX_CODE} printable ASCII characters: {code!r}")
    return code


class ScannerSimulator:
    """A scanner on a pty; ``link`` (optional) is a stable symlink to the pty's path and
    ``control`` (optional) the FIFO that takes one code per line."""

    def __init__(
        self, link: Path | None = None, control: Path | None = None, suffix: bytes = b"\r"
    ) -> None:
        self.link = link
        self.control = control
        self.suffix = suffix
        self.tty_path = ""
        self._fds: tuple[int, int] | None = None
        self._control_fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def start(self) -> str:
        """Open the pty (and link and FIFO); returns the tty path the terminal opens."""
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        self._fds = (master, slave)  # the slave stays open: the port outlives each reader
        self.tty_path = os.ttyname(slave)
        try:
            if self.link is not None:
                _replace_link(self.link, self.tty_path)
            if self.control is not None:
                self._control_fd = _open_fifo(self.control)
                self._thread = threading.Thread(
                    target=self._serve_control, name="scanner-control", daemon=True
                )
                self._thread.start()
        except OSError as exc:
            self.stop()
            raise ScannerSimError(f"cannot start the scanner: {exc}") from exc
        return self.tty_path

    def scan(self, code: str) -> bool:
        """Send one code; False when nobody reads the port and its buffer is full (lost)."""
        data = check_code(code).encode("ascii") + self.suffix
        if self._fds is None:
            raise ScannerSimError("the scanner is not started")
        with self._write_lock:
            try:
                os.write(self._fds[0], data)
            except BlockingIOError:
                log.warning("nobody reads %s: code %s lost", self.tty_path, code)
                return False
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        fds = [*(self._fds or ()), *([self._control_fd] if self._control_fd is not None else [])]
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = self._control_fd = None
        for path in (self.link, self.control):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def __enter__(self) -> ScannerSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve_control(self) -> None:
        assert self._control_fd is not None
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._control_fd], [], [], 0.05)
            if not ready:
                continue
            *lines, pending = (pending + os.read(self._control_fd, 4096)).split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    self.scan(line.strip().decode("ascii"))
                except (ScannerSimError, UnicodeDecodeError) as exc:
                    log.warning("control line ignored: %s", exc)


def _replace_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target``, replacing an old link in one step."""
    temporary = link.with_name(link.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    os.symlink(target, temporary)
    os.replace(temporary, link)


def _open_fifo(path: Path) -> int:
    """Make the FIFO (or reuse one left behind) and hold it open for reading and writing, so
    writers come and go without the reader seeing end of file."""
    if path.exists() and not stat.S_ISFIFO(path.stat().st_mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a FIFO")
    if not path.exists():
        os.mkfifo(path, 0o600)
    return os.open(path, os.O_RDWR | os.O_NONBLOCK)


def send_codes(control: Path, codes: list[str]) -> None:
    """Write codes to a serving simulator's FIFO (what ``ssn-sim scanner scan`` does)."""
    lines = "".join(check_code(code) + "\n" for code in codes).encode("ascii")
    try:
        if not stat.S_ISFIFO(control.stat().st_mode):
            raise ScannerSimError(f"{control} is not a scanner control FIFO")
        fd = os.open(control, os.O_WRONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ScannerSimError(f"no scanner simulator control at {control}") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise ScannerSimError(f"no scanner simulator is serving {control}") from None
        raise ScannerSimError(f"cannot reach the scanner at {control}: {exc}") from exc
    try:
        os.set_blocking(fd, True)  # opened non-blocking only to fail fast when nobody serves
        os.write(fd, lines)
    finally:
        os.close(fd)
