"""Puts a simulated card into a slot of real pcscd through vsmartcard's vpcd reader driver.

pcscd's vpcd driver listens on TCP (slot 0: 35963, slot 1: 35964); the card connects as the
client. A connected client is an inserted card; closing the connection removes it. Frames are a
2-byte big-endian length then the payload; a 1-byte payload is a control code (0 power off,
1 power on, 2 reset, 4 get ATR), anything longer is a command APDU answered by a response APDU.

pcscd polls presence (GET ATR) about every 0.4 s, so a removed card stays out of the field at
least ``min_out_of_field`` seconds, otherwise pcscd would never notice it was gone.
vpcd sends a command as two segments (length, then payload) from a socket with Nagle's algorithm
on, so the payload waits until the length is acknowledged: the card must acknowledge at once, not
~40 ms later. TCP_QUICKACK does that, but the kernel falls back to delayed ACKs each time the card
answers, so it is re-armed once per frame, after the answer (one system call per exchange).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time

from simulators.card.card import SimulatedCard
from simulators.card.direct import LeaveHook

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
VPCD_BASE_PORT = 35963
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4
MIN_OUT_OF_FIELD = 0.5
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class VpcdError(Exception):
    """The vpcd slot cannot take the card (pcscd not running, slot held by someone else)."""


def vpcd_port(slot: int) -> int:
    if not 0 <= slot <= 15:
        raise VpcdError(f"vpcd slot must be 0 to 15, got {slot}")
    return VPCD_BASE_PORT + slot


def _quickack(sock: socket.socket) -> None:
    if _QUICKACK is not None:
        sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


class _FrameReader:
    """Reads vpcd frames, taking whatever has arrived in one recv (vpcd sends the length and
    the payload as two segments; when both are there, one system call gets both)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _fill(self) -> bool:
        chunk = self._sock.recv(4096)
        if not chunk:
            return False
        self._buffer += chunk
        return True

    def next(self) -> bytes | None:
        """The next frame's payload, or None when the connection closed."""
        buffer = self._buffer
        while len(buffer) < 2:
            if not self._fill():
                return None
        length = (buffer[0] << 8) | buffer[1]
        while len(buffer) < 2 + length:
            if not self._fill():
                return None
        payload = bytes(buffer[2 : 2 + length])
        del buffer[: 2 + length]
        return payload


class VpcdSlot:
    """One vpcd slot: insert, remove and swap simulated cards; serves APDUs on a thread."""

    def __init__(
        self,
        slot: int = 0,
        host: str = VPCD_HOST,
        port: int | None = None,
        min_out_of_field: float = MIN_OUT_OF_FIELD,
    ) -> None:
        self.slot = slot
        self.host = host
        self.port = port if port is not None else vpcd_port(slot)
        self.min_out_of_field = min_out_of_field
        self.on_leave: LeaveHook | None = None
        self._lock = threading.RLock()
        self._card: SimulatedCard | None = None
        self._sock: socket.socket | None = None
        self._removed = threading.Event()
        self._thread: threading.Thread | None = None
        self._removed_at = 0.0

    @property
    def name(self) -> str:
        return f"vpcd slot {self.slot} ({self.host}:{self.port})"

    @property
    def card(self) -> SimulatedCard | None:
        return self._card

    def insert(self, card: SimulatedCard, timeout: float = 3.0) -> None:
        """Connects to the slot; returns once pcscd has polled the card (or raises VpcdError)."""
        with self._lock:
            self.remove()
            wait = self._removed_at + self.min_out_of_field - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                sock = socket.create_connection((self.host, self.port), timeout=timeout)
            except OSError as exc:
                raise VpcdError(
                    f"nothing listens on {self.host}:{self.port} ({exc.strerror or exc}): "
                    "is pcscd running with the vsmartcard-vpcd driver?"
                ) from exc
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            polled = threading.Event()
            removed = threading.Event()
            card.power_on()
            self._card, self._sock, self._removed = card, sock, removed
            self._thread = threading.Thread(
                target=self._serve,
                args=(sock, card, removed, polled),
                name=f"vpcd-slot-{self.slot}",
                daemon=True,
            )
            self._thread.start()
        if not polled.wait(timeout):
            self.remove()
            raise VpcdError(
                f"pcscd did not poll {self.name} within {timeout:.0f} s: "
                "another card simulator may hold this slot"
            )

    def remove(self) -> SimulatedCard | None:
        """Takes the card out of the field (closes the connection)."""
        with self._lock:
            card, sock, thread = self._card, self._sock, self._thread
            if card is None or sock is None:
                return None
            self._card = self._sock = self._thread = None
            self._removed.set()
            self._removed_at = time.monotonic()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        return card

    def close(self) -> None:
        self.remove()

    def _leave(self, card: SimulatedCard) -> None:
        with self._lock:
            if self._card is not card:
                return
            self.remove()
        if self.on_leave is not None:
            self.on_leave(card)

    def _serve(
        self,
        sock: socket.socket,
        card: SimulatedCard,
        removed: threading.Event,
        polled: threading.Event,
    ) -> None:
        try:
            frames = _FrameReader(sock)
            while not removed.is_set():
                _quickack(sock)  # before the next command's first segment arrives
                payload = frames.next()
                if payload is None:
                    break
                if not polled.is_set():
                    polled.set()
                if len(payload) == 1:
                    self._control(sock, card, payload[0])
                    continue
                result = card.exchange(payload, removed)
                if result.response is not None and not removed.is_set():
                    sock.sendall(struct.pack(">H", len(result.response)) + result.response)
                if result.leaves_field:
                    self._leave(card)
                    break
        except OSError as exc:
            if not removed.is_set():
                log.warning("%s: connection lost: %s", self.name, exc)
        finally:
            sock.close()

    @staticmethod
    def _control(sock: socket.socket, card: SimulatedCard, code: int) -> None:
        if code == CTRL_ATR:
            sock.sendall(struct.pack(">H", len(card.atr)) + card.atr)
        elif code in (CTRL_OFF, CTRL_ON, CTRL_RESET):
            card.power_on()
        else:
            log.warning("unknown vpcd control code %d", code)
