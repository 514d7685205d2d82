"""Telling a keyboard-wedge scanner from a person typing, by the timing of the keys.

A wedge scanner "types" its code into the focused window: the same key events a cashier makes,
only much faster. A burst of printable characters, each within ``max_gap`` seconds of the one
before, ended by Enter within ``max_gap`` and at least ``min_length`` long, is a scan; every
other key is typing and goes back to the app in order, unchanged.

Pure logic, no clock of its own: the app feeds each key with its timestamp (:meth:`feed`) and
calls :meth:`poll` on a timer, so keys held back while they might be a scan come out as typing
once the gap is over (a person's keys wait at most ``max_gap``).
"""

from __future__ import annotations

from dataclasses import dataclass

ENTER = "\n"
"""How :class:`Typed` spells Enter (``feed`` takes ``"\\r"`` or ``"\\n"``)."""


@dataclass(frozen=True)
class Scanned:
    """A scanner sent ``code`` (Enter not included)."""

    code: str


@dataclass(frozen=True)
class Typed:
    """A person typed ``text`` (Enter as :data:`ENTER`): handle it as ordinary key presses."""

    text: str


Decision = Scanned | Typed


class WedgeDetector:
    """Feeds on (character, time) key events and decides: scan or typing."""

    def __init__(self, *, max_gap: float = 0.030, min_length: int = 6) -> None:
        if max_gap <= 0 or min_length < 1:
            raise ValueError("max_gap must be positive and min_length at least 1")
        self.max_gap = max_gap
        self.min_length = min_length
        self._burst: list[str] = []
        self._last = 0.0

    def feed(self, char: str, at: float) -> list[Decision]:
        """One key: ``char`` is one character (Enter as CR or LF), ``at`` its time in seconds
        (monotonic). Returns what is decided now, in order (often nothing yet)."""
        if len(char) != 1:
            raise ValueError(f"one character at a time, got {char!r}")
        decided = self.poll(at)
        fast = bool(self._burst)  # poll just cleared a burst the gap ended
        if char in "\r\n":
            if fast and len(self._burst) >= self.min_length:
                decided.append(Scanned("".join(self._burst)))
                self._burst.clear()
                return decided
            return [*decided, *self._flush(), Typed(ENTER)]
        if not char.isprintable():
            return [*decided, *self._flush(), Typed(char)]
        self._burst.append(char)
        self._last = at
        return decided

    def poll(self, now: float) -> list[Decision]:
        """Keys held back whose burst has ended by ``now``, as typing."""
        if self._burst and now - self._last > self.max_gap:
            return self._flush()
        return []

    def _flush(self) -> list[Decision]:
        if not self._burst:
            return []
        text = "".join(self._burst)
        self._burst.clear()
        return [Typed(text)]
