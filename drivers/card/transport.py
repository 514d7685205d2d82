"""How APDUs reach a card: the transport and reader interfaces, their errors, and APDU observers.

The card session and the sale engine depend on these small protocols only, so the same code runs
against pcscd (:mod:`drivers.card.pcsc`) and against the in-process card simulator. Every failure
to reach the card is a :class:`CardTransportError` subclass that says what the cashier can do.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

log = logging.getLogger(__name__)

# Commands whose data is a PIN block: never logged.
_SECRET_INS = frozenset({0x20, 0x24})


class CardError(Exception):
    """Base of every card problem, so a caller can catch all of them in one place."""


class CardTransportError(CardError):
    """The command could not be carried to the card or its answer could not be carried back."""


class PcscdNotRunning(CardTransportError):
    """The PC/SC service (pcscd) is not running or cannot be reached."""


class NoReader(CardTransportError):
    """No card reader is connected, or the named reader does not exist."""


class ReaderGone(CardTransportError):
    """The reader was unplugged or became unavailable while in use."""


class ReaderBusy(CardTransportError):
    """Another program holds the card exclusively."""


class NoCard(CardTransportError):
    """There is no card in the reader."""


class CardRemoved(CardTransportError):
    """The card left the field. A command in flight may or may not have been applied: re-read
    the card and look for the transaction by its nonce before deciding."""


class CardUnresponsive(CardTransportError):
    """The card is present but does not answer. The outcome of a command in flight is unknown."""


class TransportFailure(CardTransportError):
    """Any other reader or service error; ``code`` is the PC/SC error code when there is one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


OUTCOME_UNKNOWN: tuple[type[CardTransportError], ...] = (
    CardRemoved,
    CardUnresponsive,
    ReaderGone,
    TransportFailure,
)
"""Errors after which a command that was sent may have been applied by the card."""


@runtime_checkable
class CardTransport(Protocol):
    """Carries one command APDU to the card and returns its raw answer (data + SW1 SW2)."""

    def transmit(self, apdu: bytes) -> bytes: ...


class CardConnection(CardTransport, Protocol):
    """A transport to one inserted card, held until closed (exclusively, for a sale)."""

    @property
    def atr(self) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class CardReader(Protocol):
    """One reader slot: wait for a card without polling, then connect to it."""

    @property
    def name(self) -> str: ...

    def card_present(self) -> bool: ...

    def wait_for_card(self, timeout: float | None = None) -> bool:
        """True when a card is present; False when ``timeout`` seconds passed first."""
        ...

    def wait_for_removal(self, timeout: float | None = None) -> bool:
        """True when the reader is empty (or, for a reader that can tell, the card
        :meth:`wait_for_card` found was swapped for another); False when ``timeout`` seconds
        passed first."""
        ...

    def connect(self) -> CardConnection: ...

    def close(self) -> None:
        """Releases what the reader holds (the PC/SC context); the card stays in the slot."""
        ...


class ApduObserver(Protocol):
    """Told about every exchange: the command, the answer (None on error) and how long it took."""

    def on_exchange(
        self, command: bytes, response: bytes | None, seconds: float, error: CardError | None
    ) -> None: ...


@dataclass(frozen=True)
class ApduRecord:
    """One exchange as the log keeps it, PIN data redacted."""

    command: str
    response: str | None
    seconds: float
    error: str | None


def redact(command: bytes) -> str:
    """Hex of a command APDU with the data of PIN commands replaced by stars."""
    if len(command) > 5 and command[1] in _SECRET_INS:
        return command[:5].hex().upper() + "*" * (2 * (len(command) - 5))
    return command.hex().upper()


class ApduCounter:
    """Counts and logs exchanges (DEBUG level), keeping the last ``keep`` for diagnostics.

    Cheap on the hot path: records are formatted only when :attr:`recent` is read, and PIN data
    is dropped before anything is kept."""

    def __init__(self, keep: int = 64) -> None:
        self.commands = 0
        self.errors = 0
        self.by_ins: collections.Counter[int] = collections.Counter()
        self.seconds = 0.0
        self._recent: collections.deque[
            tuple[bytes, int, bytes | None, float, CardError | None]
        ] = collections.deque(maxlen=keep)

    def on_exchange(
        self, command: bytes, response: bytes | None, seconds: float, error: CardError | None
    ) -> None:
        self.commands += 1
        self.seconds += seconds
        if len(command) >= 2:
            self.by_ins[command[1]] += 1
        if error is not None:
            self.errors += 1
        if len(command) > 5 and command[1] in _SECRET_INS:
            kept, hidden = command[:5], len(command) - 5
        else:
            kept, hidden = command, 0
        self._recent.append((kept, hidden, response, seconds, error))
        if log.isEnabledFor(logging.DEBUG):
            record = self._record(kept, hidden, response, seconds, error)
            log.debug(
                "APDU %s -> %s (%.0f us)",
                record.command,
                record.response or record.error,
                seconds * 1e6,
            )

    @staticmethod
    def _record(
        kept: bytes, hidden: int, response: bytes | None, seconds: float, error: CardError | None
    ) -> ApduRecord:
        return ApduRecord(
            kept.hex().upper() + "*" * (2 * hidden),
            response.hex().upper() if response is not None else None,
            seconds,
            f"{type(error).__name__}: {error}" if error is not None else None,
        )

    @property
    def recent(self) -> list[ApduRecord]:
        """The last exchanges, oldest first, PIN data replaced by stars."""
        return [self._record(*entry) for entry in self._recent]

    def reset(self) -> None:
        self.commands = self.errors = 0
        self.seconds = 0.0
        self.by_ins.clear()
        self._recent.clear()


class ObservedTransport:
    """Wraps a transport and reports every exchange to the observers."""

    def __init__(self, inner: CardTransport, observers: Iterable[ApduObserver]) -> None:
        self.inner = inner
        self.observers = tuple(observers)

    def transmit(self, apdu: bytes) -> bytes:
        start = time.perf_counter()
        try:
            response = self.inner.transmit(apdu)
        except CardError as exc:
            self._notify(apdu, None, time.perf_counter() - start, exc)
            raise
        self._notify(apdu, response, time.perf_counter() - start, None)
        return response

    def _notify(
        self, apdu: bytes, response: bytes | None, seconds: float, error: CardError | None
    ) -> None:
        for observer in self.observers:
            observer.on_exchange(apdu, response, seconds, error)
