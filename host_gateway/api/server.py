"""Serving the API over HTTP or HTTPS (uvicorn), with a deadline on every request's headers.

uvicorn bounds how large headers may grow (h11_max_incomplete_event_size, 16 KiB by default)
and how long an idle kept-alive connection stays (timeout_keep_alive), but not how long a
client may take to send its headers: a client trickling one byte at a time held a connection
for ever. ``header_deadline_h11`` closes a connection whose request headers have not all
arrived ``timeout`` seconds after it opened or after its previous answer, and closes new
connections at once while ``MAX_WAITING`` are waiting for their headers. Bodies are bounded in
the app (host_gateway.api.limits). With a certificate and key the server speaks only HTTPS.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from host_gateway.api.limits import ClientLimits

KEEP_ALIVE = 5
"""Seconds an idle connection is kept after an answer (uvicorn's default)."""

MAX_WAITING = 512
"""Connections at once that are waiting for their request headers; more are closed at once (half
of a usual 1024 open files, so a crowd of silent connections cannot exhaust the process)."""


def header_deadline_h11(timeout: float, max_waiting: int = MAX_WAITING) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline of ``timeout`` seconds on request headers and at
    most ``max_waiting`` connections waiting for theirs."""
    waiting: set[H11Protocol] = set()

    class HeaderDeadlineH11(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(waiting) >= max_waiting:
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()  # the headers are in: the app bounds the body

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm()  # the next request's headers have the same time

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(timeout, self._headers_late)
            waiting.add(self)

        def _disarm(self) -> None:
            waiting.discard(self)
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_late(self) -> None:
            self._deadline = None
            waiting.discard(self)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineH11


@dataclass(frozen=True)
class ServerOptions:
    """How ``ssn-gateway serve`` meets clients: their limits, and HTTPS when a certificate (and
    its key) is given."""

    limits: ClientLimits = field(default_factory=ClientLimits)
    certfile: Path | None = None
    keyfile: Path | None = None


def uvicorn_config(app: ASGIApp, host: str, port: int, options: ServerOptions) -> uvicorn.Config:
    """uvicorn's configuration for the API: header deadline, no banner, TLS if asked."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=header_deadline_h11(options.limits.timeout),
        timeout_keep_alive=KEEP_ALIVE,
        server_header=False,  # no "server: uvicorn" banner
        ssl_certfile=None if options.certfile is None else str(options.certfile),
        ssl_keyfile=None if options.keyfile is None else str(options.keyfile),
    )
