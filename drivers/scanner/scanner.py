"""What the cashier app sees of a scanner: codes and whether it works, through two callbacks.

Callbacks run on the scanner's own thread (a Textual app hands them on with
``call_from_thread``). A scanner never raises into its caller once started: an unplugged or
missing device is a :class:`ScannerError` given to ``on_state``, and ``on_state(None)`` says it
works (again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

OnCode = Callable[[str], None]
"""Gets each scanned code (the characters before CR/LF, as the scanner sent them)."""
OnState = Callable[["ScannerError | None"], None]
"""Gets the problem when the scanner stops working, None when it works (again)."""


class ScannerError(Exception):
    """The scanner cannot be used; the message says why (for the log and the status line)."""


class ScannerConfigError(ScannerError):
    """The scanner address is not valid: raised at construction, before anything is opened."""


class Scanner(Protocol):
    """A source of scanned codes, started once and stopped once."""

    description: str

    def start(self, on_code: OnCode, on_state: OnState) -> None:
        """Begin reading in the background; returns at once."""
        ...

    def stop(self) -> None:
        """Stop reading and release the device; no callback runs after this returns."""
        ...
