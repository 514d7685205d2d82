"""The control channel of a served card: move it in and out of the field, arm faults, slow it.

A running ``ssn-sim card serve`` listens on a UNIX socket (``--control``, default
``<state file>.ctl``). Each request is one JSON object on one line, each answer too:

    {"op": "status"}
    {"op": "insert"}                      {"op": "insert", "state": "/path/other-card.json"}
    {"op": "remove"}
    {"op": "swap", "state": "/path/other-card.json"}
    {"op": "arm", "fault": "before|during|after", "ins": "DEBIT", "reinsert_after": 0.6}
    {"op": "disarm"}
    {"op": "latency", "apdu_ms": 15, "crypto_ms": 150}

Answers are ``{"ok": true, ...status...}`` or ``{"ok": false, "error": "..."}``. The status
includes ``work``: commands processed and the milliseconds the card spent on them (benchmarks
use it to tell the card's time from the terminal's). From a shell:
``ssn-sim card ctl --control PATH remove`` (see ``ssn-sim card ctl --help``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any, Protocol

from simulators.card.card import Fault, Latency, SimulatedCard, parse_ins
from simulators.card.direct import LeaveHook
from simulators.card.state import CardFileError, describe

log = logging.getLogger(__name__)


class ControlError(Exception):
    """The control request failed; the message says why."""


class Slot(Protocol):
    """Where a served card sits: a vpcd slot, or the in-process reader in tests."""

    @property
    def name(self) -> str: ...

    @property
    def card(self) -> SimulatedCard | None: ...

    on_leave: LeaveHook | None

    def insert(self, card: SimulatedCard) -> None: ...

    def remove(self) -> SimulatedCard | None: ...


class CardService:
    """What the control requests act on: one slot and the card that belongs to it."""

    def __init__(self, slot: Slot, card: SimulatedCard) -> None:
        self.slot = slot
        self.card = card
        self._reinsert_after: float | None = None
        self._lock = threading.RLock()
        slot.on_leave = self._on_leave

    def handle(self, request: Any) -> dict[str, Any]:
        try:
            if not isinstance(request, dict):
                raise ControlError("a request is a JSON object")
            with self._lock:
                self._dispatch(request)
                return {"ok": True, **self.status()}
        except (ControlError, CardFileError, ValueError, OSError) as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("control request %r failed", request)
            return {"ok": False, "error": f"internal error: {exc}"}

    def _dispatch(self, request: dict[str, Any]) -> None:
        op = request.get("op")
        if op == "status":
            return
        if op == "insert":
            if request.get("state"):
                self.card = self._load(request["state"])
            if self.slot.card is not self.card:
                self.slot.insert(self.card)
        elif op == "remove":
            self.slot.remove()
        elif op == "swap":
            if not request.get("state"):
                raise ControlError("swap needs the state file of the other card")
            card = self._load(request["state"])
            self.slot.remove()
            self.card = card
            self.slot.insert(card)
        elif op == "arm":
            fault = Fault(request.get("fault"))
            self.card.arm(fault, parse_ins(request.get("ins")))
            after = request.get("reinsert_after")
            self._reinsert_after = float(after) if after is not None else None
        elif op == "disarm":
            self.card.disarm()
            self._reinsert_after = None
        elif op == "latency":
            apdu_ms = float(request.get("apdu_ms", 0))
            crypto_ms = float(request.get("crypto_ms", 0))
            if apdu_ms < 0 or crypto_ms < 0:
                raise ControlError("latency cannot be negative")
            self.card.latency = Latency(apdu_ms / 1000, crypto_ms / 1000)
        else:
            raise ControlError(f"unknown op {op!r}")

    def _load(self, path: str) -> SimulatedCard:
        return SimulatedCard.from_file(Path(path), self.card.latency)

    def status(self) -> dict[str, Any]:
        card = self.card
        data = card.data
        return {
            "slot": self.slot.name,
            "inserted": self.slot.card is card,
            "state_file": str(card.store.path) if card.store else None,
            "card": {
                key: value
                for key, value in describe(data).items()
                if key in ("card_number", "holder_name", "state", "counter", "purses")
            },
            "armed": [armed.describe() for armed in card.armed],
            "reinsert_after": self._reinsert_after,
            "latency": {
                "apdu_ms": card.latency.per_apdu * 1000,
                "crypto_ms": card.latency.per_crypto * 1000,
            },
            "work": {"commands": card.commands, "busy_ms": card.busy_seconds * 1000},
        }

    def _on_leave(self, card: SimulatedCard) -> None:
        with self._lock:
            delay, self._reinsert_after = self._reinsert_after, None
        if delay is not None:
            timer = threading.Timer(delay, self._reinsert, args=(card,))
            timer.daemon = True
            timer.start()

    def _reinsert(self, card: SimulatedCard) -> None:
        with self._lock:
            if self.card is card and self.slot.card is None:
                try:
                    self.slot.insert(card)
                except Exception:
                    log.exception("cannot put the card back into %s", self.slot.name)


class ControlServer:
    """Serves :class:`CardService` requests on a UNIX socket, one thread per client."""

    def __init__(self, path: Path, service: CardService) -> None:
        self.path = Path(path)
        self.service = service
        self._sock: socket.socket | None = None

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o600)
        sock.listen(8)
        self._sock = sock
        threading.Thread(target=self._accept, name="card-control", daemon=True).start()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def _accept(self) -> None:
        while (sock := self._sock) is not None:
            try:
                client, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(client,), daemon=True).start()

    def _client(self, client: socket.socket) -> None:
        with client, client.makefile("rwb") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                except json.JSONDecodeError:
                    answer: dict[str, Any] = {"ok": False, "error": "not JSON"}
                else:
                    answer = self.service.handle(request)
                stream.write(json.dumps(answer).encode("utf-8") + b"\n")
                stream.flush()


def control_call(path: Path, request: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Sends one request to a served card; raises ControlError when it fails."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
            with sock.makefile("rb") as stream:
                line = stream.readline()
    except OSError as exc:
        raise ControlError(f"cannot reach the card service at {path}: {exc}") from exc
    if not line:
        raise ControlError(f"the card service at {path} closed the connection")
    answer: dict[str, Any] = json.loads(line)
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "request failed")))
    return answer
