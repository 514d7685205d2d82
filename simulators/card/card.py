"""A simulated card in a reader's field: the applet, its state file, armed faults and latency.

The order inside :meth:`SimulatedCard.exchange` is the whole tear model:

1. a ``before`` fault leaves the field at once (nothing written, no answer);
2. the applet computes the answer and the new state (pure);
3. the card "works" for the modelled latency; if it is pulled out meanwhile, nothing is written;
4. the new state is stored atomically, then adopted;
5. a ``during`` fault leaves without answering; an ``after`` fault answers, then leaves.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drivers.card.apdu import SW
from drivers.card.protocol import AID, Ins
from simulators.card.applet import CardApplet, Outcome
from simulators.card.lock import CardFileLock
from simulators.card.state import CardData
from simulators.card.store import CardStore

log = logging.getLogger(__name__)


def _with_tck(atr: bytes) -> bytes:
    tck = 0
    for byte in atr[1:]:
        tck ^= byte
    return atr + bytes([tck])


# TS=3B direct convention; T0=8A: TD1 follows, 10 historical bytes; TD1=01: T=1 only.
# Historical bytes: category 80 (compact-TLV), tag F length 8 = application identifier (our AID).
ATR = _with_tck(bytes([0x3B, 0x8A, 0x01, 0x80, 0xF8]) + AID)


class Fault(enum.Enum):
    """Where a card is torn from the field, relative to one command."""

    BEFORE = "before"
    """Before the card processes it: no state change, no answer."""
    DURING = "during"
    """After the new state is written, before the answer: the terminal never sees it."""
    AFTER = "after"
    """After the answer is sent: then the card leaves the field."""


@dataclass(frozen=True)
class ArmedFault:
    fault: Fault
    ins: int | None = None
    """Only a command with this INS triggers it; None: the next command."""

    def matches(self, apdu: bytes) -> bool:
        return self.ins is None or (len(apdu) >= 2 and apdu[1] == self.ins)

    def describe(self) -> dict[str, str | None]:
        ins = None if self.ins is None else _ins_name(self.ins)
        return {"fault": self.fault.value, "ins": ins}


def _ins_name(ins: int) -> str:
    try:
        return Ins(ins).name
    except ValueError:
        return f"{ins:02X}"


def parse_ins(text: str | None) -> int | None:
    """An INS by name (DEBIT) or hex (30); None or empty or 'any' means any command."""
    if text is None or text.strip().lower() in ("", "any"):
        return None
    name = text.strip().upper()
    if name in Ins.__members__:
        return int(Ins[name])
    try:
        value = int(name, 16)
    except ValueError:
        raise ValueError(f"unknown instruction {text!r}") from None
    if not 0 <= value <= 0xFF:
        raise ValueError(f"instruction {text!r} out of range")
    return value


@dataclass(frozen=True)
class Latency:
    """Slow-card model: time per command APDU plus time per public-key operation."""

    per_apdu: float = 0.0
    per_crypto: float = 0.0

    def of(self, outcome: Outcome) -> float:
        return self.per_apdu + self.per_crypto * outcome.crypto_ops


@dataclass(frozen=True)
class Exchange:
    response: bytes | None
    """None: the card left the field without answering."""
    leaves_field: bool


class SimulatedCard:
    """One card: applet plus persistence, faults and latency. One exchange at a time."""

    def __init__(
        self,
        data: CardData,
        store: CardStore | None = None,
        latency: Latency | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.applet = CardApplet(data, random_bytes)
        self.store = store
        self.latency = latency or Latency()
        self._faults: list[ArmedFault] = []
        self._lock = threading.Lock()
        self.file_lock: CardFileLock | None = None
        self.commands = 0
        self.busy_seconds = 0.0
        """Time spent inside :meth:`exchange` (the card's own work, state write included), so a
        benchmark can tell the card's time from the terminal's."""

    @classmethod
    def from_file(cls, path: Path, latency: Latency | None = None) -> SimulatedCard:
        hold = CardFileLock(path)  # before reading: another process may be writing it
        store = CardStore(path)
        card = cls(store.load(), store, latency)
        card.file_lock = hold
        return card

    def release(self) -> None:
        """Let go of the state file (the card left this process's reader)."""
        if self.file_lock is not None:
            self.file_lock.release()

    @property
    def data(self) -> CardData:
        return self.applet.data

    @property
    def atr(self) -> bytes:
        return ATR

    def power_on(self) -> None:
        self.applet.power_on()

    def arm(self, fault: Fault, ins: int | None = None) -> None:
        """Arms a one-shot fault for the next command (with that INS, if given)."""
        with self._lock:
            self._faults.append(ArmedFault(fault, ins))

    def disarm(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def armed(self) -> tuple[ArmedFault, ...]:
        with self._lock:
            return tuple(self._faults)

    def _take_fault(self, apdu: bytes) -> Fault | None:
        if not self._faults:  # the common case, without taking the lock
            return None
        with self._lock:
            for index, armed in enumerate(self._faults):
                if armed.matches(apdu):
                    del self._faults[index]
                    return armed.fault
        return None

    def _store(self, data: CardData) -> bool:
        if self.store is None:
            return True
        try:
            self.store.save(data)
        except OSError:
            log.exception("cannot write card state %s", self.store.path)
            return False
        return True

    def exchange(self, apdu: bytes, removed: threading.Event | None = None) -> Exchange:
        """Processes one command APDU; ``removed`` is set if the card is pulled meanwhile."""
        start = time.perf_counter()
        try:
            return self._exchange(apdu, removed)
        finally:
            self.commands += 1
            self.busy_seconds += time.perf_counter() - start

    def _exchange(self, apdu: bytes, removed: threading.Event | None) -> Exchange:
        fault = self._take_fault(apdu)
        if fault is Fault.BEFORE:
            return Exchange(None, leaves_field=True)
        outcome = self.applet.process(apdu)
        if outcome.staged is not None:
            # Written before the work (the PIN try, spent before the compare): a card torn
            # from here on keeps it.
            if not self._store(outcome.staged):
                return Exchange(SW.INTERNAL_ERROR.to_bytes(2, "big"), leaves_field=False)
            self.applet.data = outcome.staged
        delay = self.latency.of(outcome)
        if delay > 0:
            if removed is None:
                time.sleep(delay)
            elif removed.wait(delay):
                return Exchange(None, leaves_field=True)  # power lost before the write
        if removed is not None and removed.is_set():
            return Exchange(None, leaves_field=True)
        if outcome.data is not None and not self._store(outcome.data):
            return Exchange(SW.INTERNAL_ERROR.to_bytes(2, "big"), leaves_field=False)
        self.applet.commit(outcome)
        if fault is Fault.DURING:
            return Exchange(None, leaves_field=True)
        return Exchange(outcome.response, leaves_field=fault is Fault.AFTER)
