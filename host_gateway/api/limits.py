"""What a request may cost the host before anyone is authenticated: its body's size, the time
its body takes to arrive, and how many such requests are read at once.

``RequestGuard`` (ASGI middleware, outside the app) reads every body itself, within
``ClientLimits``: a larger ``Content-Length`` is refused at once with 413 ``too_large``, unread;
a streamed body as soon as it passes the limit; a body that pauses longer than ``timeout`` or
takes longer than ``body_deadline`` in all gets 408 ``timeout``; while it arrives, all but its
first ``SPOOL_IN_MEMORY`` bytes wait in a temporary file, not in memory; when ``max_pending``
requests are being read or authenticated already, the next one gets 503 ``busy`` with
``Retry-After``. Then,
for every path but the public ones, it authenticates the request (host_gateway.api.auth) before
any route parses or validates anything: a stranger gets 401, never 422. The authenticated
terminal rides in ``scope["state"]["terminal"]``; the body is handed on unchanged.

How long a client may take to send its headers is the HTTP server's part
(host_gateway.api.server).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from host_gateway.api.auth import SignedRequest, authenticate
from host_gateway.errors import GatewayError, busy_response, error_response
from host_gateway.gateway import Gateway
from host_gateway.ingest import TerminalContext

log = logging.getLogger("host_gateway.api")

MAX_BODY = 4 * 1024 * 1024
"""Bytes. The largest legitimate request is an upload of MAX_BATCH (1000) records: about 1 KB
each as base64 in JSON (a one-line sale), so about 1 MB, and the terminal sends 500 at a time.
4 MiB leaves room for baskets of a dozen lines in every record of a full batch."""

SPOOL_IN_MEMORY = 64 * 1024
"""Bytes of a body kept in memory while it arrives; the rest waits in a temporary file."""

PUBLIC_PATHS = frozenset({"/v1/time", "/v1/health", "/v1/enroll"})
"""Paths under /v1/ that need no signature; every other /v1/ path is authenticated here."""


@dataclass(frozen=True)
class ClientLimits:
    timeout: float = 10.0
    """Seconds to send the request headers, and the longest pause inside a body."""
    body_deadline: float = 120.0
    """Seconds for a whole body: 4 MiB at 35 kB/s, a 500-record batch at 5 kB/s."""
    max_body: int = MAX_BODY
    max_pending: int = 64
    """Requests whose body is being read or that are being authenticated at once."""

    @classmethod
    def scaled(cls, timeout: float) -> ClientLimits:
        """Limits for a client timeout other than the default (the deadline scales along)."""
        return cls(timeout=timeout, body_deadline=12 * timeout)


class _RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RequestGuard:
    def __init__(self, app: ASGIApp, gateway: Gateway, limits: ClientLimits) -> None:
        self.app, self.gateway, self.limits = app, gateway, limits
        self.pending = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.pending >= self.limits.max_pending:
            self.gateway.refusals.add("busy", "too many requests being read at once")
            response = busy_response(self.gateway.clock())
            response.headers["Connection"] = "close"  # its body is never read
            await response(scope, receive, send)
            return
        self.pending += 1
        try:
            body = await self._read_body(scope, receive)
            if body is None:
                return  # the client went away: nobody to answer
            if _signed(scope["path"]):
                scope.setdefault("state", {})["terminal"] = await self._authenticate(scope, body)
        except _RefusedError as refused:
            if refused.code in ("too_large", "timeout"):
                self.gateway.refusals.add(refused.code, refused.message)
            await self._refuse(refused, scope, receive, send)
            return
        except OperationalError as exc:  # the nonce could not be written in time
            log.warning("database busy while authenticating: %s", exc.orig)
            await busy_response(self.gateway.clock())(scope, receive, send)
            return
        finally:
            self.pending -= 1
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.limits.max_body
        if _declared_length(scope) > limit:
            raise _RefusedError(413, "too_large", f"request body is larger than {limit} bytes")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_deadline
        # Spooled: past SPOOL_IN_MEMORY a body waits on disk, so stalled uploads hold files,
        # not memory; it is read back whole only once it is complete.
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            while True:
                wait = min(self.limits.timeout, deadline - loop.time())
                try:
                    if wait <= 0:
                        raise TimeoutError
                    message = await asyncio.wait_for(receive(), wait)
                except TimeoutError:
                    came = spool.tell()
                    raise _RefusedError(
                        408, "timeout", f"request body not received in time ({came} bytes came)"
                    ) from None
                if message["type"] != "http.request":
                    return None
                spool.write(message.get("body", b""))
                if spool.tell() > limit:
                    raise _RefusedError(
                        413, "too_large", f"request body is larger than {limit} bytes"
                    )
                if not message.get("more_body", False):
                    spool.seek(0)
                    return spool.read()

    async def _authenticate(self, scope: Scope, body: bytes) -> TerminalContext:
        request = Request(scope)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        signed = SignedRequest(request.method, path, body, dict(request.headers))
        try:
            return await run_in_threadpool(authenticate, self.gateway, signed)
        except GatewayError as exc:
            raise _RefusedError(exc.status, exc.code, exc.message) from exc

    async def _refuse(
        self, refused: _RefusedError, scope: Scope, receive: Receive, send: Send
    ) -> None:
        response = error_response(
            refused.status, refused.code, refused.message, self.gateway.clock()
        )
        if refused.status in (408, 413):
            response.headers["Connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


def signed_terminal(request: Request) -> TerminalContext:
    """The terminal RequestGuard authenticated before anything else looked at the request."""
    terminal = getattr(request.state, "terminal", None)
    if not isinstance(terminal, TerminalContext):
        raise GatewayError("unauthenticated", "this path needs a signed request", 401)
    return terminal


Signed = Annotated[TerminalContext, Depends(signed_terminal)]
"""A route parameter: the authenticated terminal."""


def _signed(path: str) -> bool:
    return path.startswith("/v1/") and path not in PUBLIC_PATHS


def _declared_length(scope: Scope) -> int:
    """Content-Length, or -1 when absent or unreadable (the streamed count still applies)."""
    try:
        return int(dict(scope["headers"]).get(b"content-length", b"-1"))
    except ValueError:
        return -1
