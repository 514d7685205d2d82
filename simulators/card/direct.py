"""The in-process reader: a simulated card reached by a function call, for fast tests.

It implements the same :class:`drivers.card.transport.CardReader` and ``CardConnection``
protocols as the PC/SC driver, including their failure modes: no card, card removed mid-command
(a fault or a removal from another thread), exclusive access.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from drivers.card.transport import CardRemoved, NoCard, ReaderBusy
from simulators.card.card import SimulatedCard

LeaveHook = Callable[[SimulatedCard], None]


class DirectReader:
    """A reader slot holding at most one simulated card."""

    def __init__(self, name: str = "SSN simulator (direct)") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._card: SimulatedCard | None = None
        self._generation = 0
        self._seen: int | None = None
        """The arrival (generation) :meth:`wait_for_card` last found: the card a watcher is on."""
        self._removed = threading.Event()
        self._connected = False
        self.on_leave: LeaveHook | None = None
        """Called when a card leaves the field by itself (a tear fault)."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def card(self) -> SimulatedCard | None:
        return self._card

    def insert(self, card: SimulatedCard) -> None:
        """Puts a card in the field (powering it on); a card already there is taken out first."""
        with self._cond:
            self._take_out()
            card.power_on()
            self._card = card
            self._generation += 1
            self._removed = threading.Event()
            self._cond.notify_all()

    def remove(self) -> SimulatedCard | None:
        with self._cond:
            return self._take_out()

    def _take_out(self) -> SimulatedCard | None:
        card, self._card = self._card, None
        self._removed.set()
        self._cond.notify_all()
        return card

    def card_present(self) -> bool:
        return self._card is not None

    def wait_for_card(self, timeout: float | None = None) -> bool:
        with self._cond:
            found = self._cond.wait_for(lambda: self._card is not None, timeout)
            if found:
                self._seen = self._generation
            return found

    def wait_for_removal(self, timeout: float | None = None) -> bool:
        """True when the card :meth:`wait_for_card` found has left: the slot is empty, or
        :meth:`insert` swapped another card in under one lock (never seen empty)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._card is None or self._seen not in (None, self._generation), timeout
            )

    def connect(self) -> DirectConnection:
        with self._cond:
            if self._card is None:
                raise NoCard(f"no card in reader {self._name!r}")
            if self._connected:
                raise ReaderBusy(f"reader {self._name!r} is in use by another connection")
            self._connected = True
            return DirectConnection(self, self._generation)

    def close(self) -> None:
        """The reader is put away: a card still in it leaves, and its state file is free for
        another process at once (simulators/card/lock.py), not when the garbage is collected."""
        with self._cond:
            card = self._take_out()
        if card is not None:
            card.release()

    def _release(self) -> None:
        with self._cond:
            self._connected = False

    def _exchange(self, generation: int, apdu: bytes) -> bytes:
        with self._cond:
            card = self._card
            if card is None or generation != self._generation:
                raise CardRemoved("the card was removed")
            removed = self._removed
        result = card.exchange(apdu, removed)
        if result.leaves_field:
            with self._cond:
                left = self._card is card and generation == self._generation
                if left:
                    self._take_out()
            if left and self.on_leave is not None:
                self.on_leave(card)
        if result.response is None:
            raise CardRemoved("the card left the field before answering")
        return result.response


class DirectConnection:
    """A connection to the card that was in the reader when it was opened."""

    def __init__(self, reader: DirectReader, generation: int) -> None:
        self._reader = reader
        self._generation = generation
        self._open = True

    @property
    def atr(self) -> bytes:
        card = self._reader.card
        if card is None:
            raise CardRemoved("the card was removed")
        return card.atr

    def transmit(self, apdu: bytes) -> bytes:
        if not self._open:
            raise CardRemoved("connection closed")
        return self._reader._exchange(self._generation, bytes(apdu))

    def close(self) -> None:
        if self._open:
            self._open = False
            self._reader._release()

    def __enter__(self) -> DirectConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
