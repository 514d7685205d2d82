"""Who may talk to the printer: one sender at a time, in front of the holder first.

The cashier's sale, ``ssn-terminal print`` and the print service (``print --watch``) may run in
different processes on one terminal. Three lock files in the terminal's home keep them apart
(``flock``: the kernel drops a lock when its process dies, kill -9 included):

- ``printer.lock`` (exclusive): held while one job goes to the printer. A job re-reads its state
  from the journal under it, so two senders never print the same job.
- ``printer-foreground.lock`` (shared): held by every operation that prints in front of a holder
  (a sale, a reprint) for as long as it runs. The background steps aside while anyone holds it.
- ``print-worker.lock`` (exclusive): held by the one print service, so the cashier can be told
  honestly whether a waiting receipt will print by itself.

Without a directory (tests, a single process) the same rules hold between threads only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

POLL_SECONDS = 0.02
"""How often a sender waiting for the printer looks again (flock has no timeout of its own)."""

PROBE_GRACE_SECONDS = 1.0
"""How long a starting print service waits out a lock someone only looks at: asking "does a
service run?" takes the worker lock for an instant, and a service starting in that instant must
not conclude that another one runs."""


class _LockFile:
    """One lock file; every lock is its own open file, so threads of one process exclude each
    other like processes do."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def try_lock(self, mode: int, *, wait: bool = False) -> int | None:
        """A descriptor holding the lock (-1 without a file), or None when someone else holds
        it (never with ``wait``)."""
        if self.path is None:
            return -1
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def lock_within(self, mode: int, seconds: float) -> int | None:
        """Like :meth:`try_lock`, looking again for ``seconds`` before giving up."""
        until = time.monotonic() + seconds
        while True:
            fd = self.try_lock(mode)
            if fd is not None or time.monotonic() >= until:
                return fd
            time.sleep(POLL_SECONDS)

    @staticmethod
    def unlock(fd: int | None) -> None:
        if fd is not None and fd >= 0:
            os.close(fd)  # closing the descriptor drops its lock

    def held_by_someone(self) -> bool:
        fd = self.try_lock(fcntl.LOCK_EX)
        self.unlock(fd)
        return fd is None


class PrinterLock:
    """The printer's locks for one terminal home (``directory``), or for one process (None)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._printer_file = _LockFile(directory / "printer.lock" if directory else None)
        self._foreground_file = _LockFile(
            directory / "printer-foreground.lock" if directory else None
        )
        self._worker_file = _LockFile(directory / "print-worker.lock" if directory else None)
        self._printer = threading.Lock()
        self._state = threading.Lock()
        self._foreground = 0
        self._foreground_fd: int | None = None
        self._workers = 0

    # -- the printer itself ------------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self, until: float | None) -> Iterator[bool]:
        """The printer for one job: True once held; False when someone else still has it at
        ``until`` (a :func:`time.monotonic` instant; None: do not wait)."""
        fd = self._take(until)
        try:
            yield fd is not None
        finally:
            if fd is not None:
                self._printer_file.unlock(fd)
                self._printer.release()

    def _take(self, until: float | None) -> int | None:
        while True:
            left = 0.0 if until is None else until - time.monotonic()
            if self._printer.acquire(timeout=min(max(left, 0.0), POLL_SECONDS)):
                fd = self._printer_file.try_lock(fcntl.LOCK_EX)
                if fd is not None:
                    return fd
                self._printer.release()
            if until is None or time.monotonic() >= until:
                return None
            time.sleep(POLL_SECONDS)

    # -- printing in front of the holder ------------------------------------------------------
    @contextlib.contextmanager
    def foreground(self) -> Iterator[None]:
        """Announce an operation that prints in front of its holder (re-entrant); background
        printing pauses between jobs until it ends."""
        with self._state:
            self._foreground += 1
            if self._foreground == 1:
                # Waits only for a background sender's momentary look at the lock.
                self._foreground_fd = self._foreground_file.try_lock(fcntl.LOCK_SH, wait=True)
        try:
            yield
        finally:
            with self._state:
                self._foreground -= 1
                if self._foreground == 0:
                    self._foreground_file.unlock(self._foreground_fd)
                    self._foreground_fd = None

    def foreground_active(self) -> bool:
        """Is any operation printing in front of a holder, here or in another process?"""
        with self._state:
            if self._foreground:
                return True
        return self._foreground_file.held_by_someone()

    # -- the print service --------------------------------------------------------------------
    @contextlib.contextmanager
    def worker(self) -> Iterator[bool]:
        """Be the terminal's one print service: True while held, False if another one runs."""
        fd = self._worker_file.lock_within(fcntl.LOCK_EX, PROBE_GRACE_SECONDS)
        if fd is not None:
            with self._state:
                self._workers += 1
        try:
            yield fd is not None
        finally:
            if fd is not None:
                with self._state:
                    self._workers -= 1
                self._worker_file.unlock(fd)

    def worker_running(self) -> bool:
        """Does a print service run for this terminal (so waiting receipts print by themselves)?"""
        with self._state:
            if self._workers:
                return True
        return self._worker_file.path is not None and self._worker_file.held_by_someone()
