"""PC/SC card readers through pyscard's low-level API (pcscd on Linux, WinSCard on Windows).

- :func:`list_readers` and :class:`PcscReader` (one named reader, or the first one).
- Waiting for a card or its removal blocks in ``SCardGetStatusChange`` with a timeout: no busy
  polling; :meth:`PcscReader.cancel` wakes a waiting thread.
- :meth:`PcscReader.connect` opens an exclusive connection (nobody else can talk to the card
  during a sale); closing it resets the card so no verified PIN outlives the sale.
- Every PC/SC error becomes a typed :class:`~drivers.card.transport.CardTransportError`.
- Observers (:class:`~drivers.card.transport.ApduObserver`) see every exchange.

Nothing here talks to pcscd at import time; a context is established on first use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from smartcard import scard

from drivers.card.transport import (
    ApduObserver,
    CardError,
    CardRemoved,
    CardTransportError,
    CardUnresponsive,
    NoCard,
    NoReader,
    PcscdNotRunning,
    ReaderBusy,
    ReaderGone,
    TransportFailure,
)

_MASK = 0xFFFFFFFF
REMOVAL_SETTLE = 0.6
"""Seconds to wait, after a failed exchange, for the reader to report the card gone."""
_PROTOCOLS = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1


def _code(hresult: int) -> int:
    return hresult & _MASK


def _is(hresult: int, *names: str) -> bool:
    codes = {getattr(scard, name, None) for name in names}
    return _code(hresult) in {_code(code) for code in codes if code is not None}


def pcsc_error(hresult: int, doing: str, reader: str | None = None) -> CardTransportError:
    """The typed error for a PC/SC return code, with a message a cashier can act on."""
    where = f" (reader {reader!r})" if reader else ""
    detail = scard.SCardGetErrorMessage(hresult)
    if _is(hresult, "SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED", "SCARD_E_NO_SERVER"):
        return PcscdNotRunning(f"pcscd is not running: cannot {doing} ({detail})")
    if _is(hresult, "SCARD_E_NO_READERS_AVAILABLE"):
        return NoReader("no card reader is connected")
    if _is(hresult, "SCARD_E_UNKNOWN_READER"):
        return NoReader(f"card reader not found{where}")
    if _is(hresult, "SCARD_E_READER_UNAVAILABLE"):
        return ReaderGone(f"the card reader is gone{where}")
    if _is(hresult, "SCARD_E_SHARING_VIOLATION"):
        return ReaderBusy(f"the card is in use by another program{where}")
    if _is(hresult, "SCARD_E_NO_SMARTCARD"):
        return NoCard(f"no card in the reader{where}")
    if _is(hresult, "SCARD_W_REMOVED_CARD"):
        return CardRemoved(f"the card was removed{where}")
    if _is(hresult, "SCARD_W_RESET_CARD"):
        return CardRemoved(f"the card was reset by another program{where}")
    if _is(hresult, "SCARD_W_UNRESPONSIVE_CARD", "SCARD_W_UNPOWERED_CARD"):
        return CardUnresponsive(f"the card does not answer{where}")
    return TransportFailure(f"cannot {doing}{where}: {detail}", _code(hresult))


class PcscContext:
    """A PC/SC resource-manager context, established on first use and re-established after
    pcscd restarts."""

    def __init__(self) -> None:
        self._handle: Any = None
        self._lock = threading.Lock()

    @property
    def handle(self) -> Any:
        with self._lock:
            if self._handle is None:
                hresult, handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
                if hresult != scard.SCARD_S_SUCCESS:
                    raise pcsc_error(hresult, "reach the PC/SC service")
                self._handle = handle
            return self._handle

    def invalidate(self) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            scard.SCardReleaseContext(handle)

    def call(self, doing: str, reader: str | None, function: Any, *args: Any) -> Any:
        """Runs ``function(handle, *args)``; retries once with a fresh context if pcscd was
        restarted under us."""
        for attempt in (1, 2):
            result = function(self.handle, *args)
            hresult = result[0] if isinstance(result, tuple | list) else result
            if attempt == 1 and _is(hresult, "SCARD_E_INVALID_HANDLE", "SCARD_E_NO_SERVICE"):
                self.invalidate()
                continue
            return result
        return result

    def release(self) -> None:
        self.invalidate()


def list_readers(context: PcscContext | None = None) -> list[str]:
    """Names of the connected readers (empty when there are none)."""
    context = context or PcscContext()
    hresult, readers = context.call("list card readers", None, scard.SCardListReaders, [])
    if _is(hresult, "SCARD_E_NO_READERS_AVAILABLE"):
        return []
    if hresult != scard.SCARD_S_SUCCESS:
        raise pcsc_error(hresult, "list card readers")
    return list(readers)


class PcscReader:
    """One PC/SC reader (``name``, or the first reader found when None)."""

    def __init__(
        self,
        name: str | None = None,
        observers: Iterable[ApduObserver] = (),
        context: PcscContext | None = None,
    ) -> None:
        self._wanted = name
        self._name: str | None = None
        self.observers = tuple(observers)
        self.context = context or PcscContext()

    @property
    def name(self) -> str:
        if self._name is None:
            readers = list_readers(self.context)
            if not readers:
                raise NoReader("no card reader is connected")
            if self._wanted is None:
                self._name = readers[0]
            elif self._wanted in readers:
                self._name = self._wanted
            else:
                raise NoReader(
                    f"card reader {self._wanted!r} not found; readers: {', '.join(readers)}"
                )
        return self._name

    def _state(self, current: int, timeout_ms: int) -> tuple[int, int, bytes]:
        reader = self.name
        hresult, states = self.context.call(
            "watch the reader", reader, scard.SCardGetStatusChange, timeout_ms, [(reader, current)]
        )
        if _is(hresult, "SCARD_E_TIMEOUT", "SCARD_E_CANCELLED"):
            return hresult, current, b""
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "watch the reader", reader)
        _, event, atr = states[0]
        if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
            raise ReaderGone(f"the card reader is gone (reader {reader!r})")
        return hresult, event, bytes(atr)

    def card_present(self) -> bool:
        _, event, _ = self._state(scard.SCARD_STATE_UNAWARE, 0)
        return bool(event & scard.SCARD_STATE_PRESENT)

    def _wait(self, present: bool, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        _, event, _ = self._state(scard.SCARD_STATE_UNAWARE, 0)
        while bool(event & scard.SCARD_STATE_PRESENT) != present:
            if deadline is None:
                wait_ms = scard.INFINITE
            else:
                wait_ms = int(max(0.0, deadline - time.monotonic()) * 1000)
                if wait_ms == 0:
                    return False
            hresult, event, _ = self._state(event & ~scard.SCARD_STATE_CHANGED, wait_ms)
            if _is(hresult, "SCARD_E_CANCELLED"):
                return False
        return True

    def wait_for_card(self, timeout: float | None = None) -> bool:
        """Blocks until a card is present (True) or ``timeout`` seconds pass (False)."""
        return self._wait(True, timeout)

    def wait_for_removal(self, timeout: float | None = None) -> bool:
        """Blocks until the reader is empty (True) or ``timeout`` seconds pass (False)."""
        return self._wait(False, timeout)

    def cancel(self) -> None:
        """Wakes a thread blocked in a wait (it returns False)."""
        scard.SCardCancel(self.context.handle)

    def connect(self, exclusive: bool = True) -> PcscConnection:
        reader = self.name
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        hresult, card, protocol = self.context.call(
            "connect to the card", reader, scard.SCardConnect, reader, share, _PROTOCOLS
        )
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "connect to the card", reader)
        return PcscConnection(self, card, protocol)

    def close(self) -> None:
        self.context.release()


class PcscConnection:
    """An open connection to the card in a :class:`PcscReader`."""

    def __init__(self, reader: PcscReader, card: Any, protocol: int) -> None:
        self.reader = reader
        self._card = card
        self._protocol = protocol

    @property
    def atr(self) -> bytes:
        hresult, _, _, _, atr = scard.SCardStatus(self._card)
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "read the card's ATR", self.reader.name)
        return bytes(atr)

    def transmit(self, apdu: bytes) -> bytes:
        start = time.perf_counter()
        try:
            response = self._transmit(apdu)
        except CardError as exc:
            self._notify(apdu, None, time.perf_counter() - start, exc)
            raise
        self._notify(apdu, response, time.perf_counter() - start, None)
        return response

    def _notify(
        self, apdu: bytes, response: bytes | None, seconds: float, error: CardError | None
    ) -> None:
        for observer in self.reader.observers:
            observer.on_exchange(apdu, response, seconds, error)

    def _transmit(self, apdu: bytes) -> bytes:
        response = self._raw(apdu)
        if len(response) == 2 and response[0] == 0x6C and len(apdu) >= 4:
            # T=0 style "wrong Le, use this one": resend with the exact Le.
            response = self._raw(_with_le(apdu, response[1]))
        data = b""
        while len(response) == 2 and response[0] == 0x61:
            # T=0 style "more data available": fetch it with GET RESPONSE.
            data += response[:-2]
            response = self._raw(bytes([apdu[0] & 0x03, 0xC0, 0, 0, response[1]]))
        return data + response if data else response

    def _raw(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise CardRemoved("the connection to the card is closed")
        hresult, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            error = pcsc_error(hresult, "exchange with the card", self.reader.name)
            raise self._absent_or(error)
        if len(response) < 2:
            # pcscd reports success with no bytes when the card vanished mid-command.
            raise self._absent_or(CardUnresponsive("the card did not answer"))
        return bytes(response)

    def _absent_or(self, error: CardTransportError) -> CardTransportError:
        """After a failed exchange: CardRemoved if the card is gone, else ``error``."""
        if isinstance(error, CardRemoved | ReaderGone | PcscdNotRunning):
            return error
        try:
            # pcscd notices a removal at its next presence poll (a few hundred ms): wait for it.
            removed = self.reader.wait_for_removal(REMOVAL_SETTLE)
        except CardTransportError as exc:
            return exc
        if removed:
            return CardRemoved(f"the card was removed (reader {self.reader.name!r})")
        if isinstance(error, TransportFailure) and _is(
            error.code or 0, "SCARD_E_NOT_TRANSACTED", "SCARD_F_COMM_ERROR"
        ):
            return CardUnresponsive(f"the card did not answer (reader {self.reader.name!r})")
        return error

    def close(self) -> None:
        card, self._card = self._card, None
        if card is not None:
            scard.SCardDisconnect(card, scard.SCARD_RESET_CARD)

    def __enter__(self) -> PcscConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _with_le(apdu: bytes, le: int) -> bytes:
    """The same command with its Le replaced (or added)."""
    header, body = apdu[:4], apdu[4:]
    if len(body) <= 1:
        return header + bytes([le])
    lc = body[0]
    return header + body[: 1 + lc] + bytes([le])
