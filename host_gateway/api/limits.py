"""Request body size limit, enforced before anything reads or parses the body.

The API parses JSON before it checks the request signature, so without a limit anyone could make
the host hold and parse a body of any size. This ASGI middleware refuses a body over the limit
with 413 ``too_large``: at once when Content-Length says so, else as soon as the streamed
(chunked) bytes pass it. A body within the limit is read here and handed on unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from host_gateway.errors import error_response
from ledger.request_auth import HEADER_HOST_TIME

MAX_BODY = 4 * 1024 * 1024
"""Bytes. The largest legitimate request is an upload of MAX_BATCH (1000) records: about 1 KB
each as base64 in JSON (a one-line sale), so about 1 MB, and the terminal sends 500 at a time.
4 MiB leaves room for baskets of a dozen lines in every record of a full batch."""


class BodyLimit:
    def __init__(self, app: ASGIApp, clock: Callable[[], int], limit: int = MAX_BODY) -> None:
        self.app, self.clock, self.limit = app, clock, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.limit:
            await self._refuse(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see the disconnect
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        if message["type"] == "http.request":
            message = {"type": "http.request", "body": bytes(body), "more_body": False}
        pending = [message]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Outside the app, so its host-time middleware does not run: the header is set here.
        now = self.clock()
        message = f"request body is larger than {self.limit} bytes"
        response = error_response(413, "too_large", message, now)
        response.headers[HEADER_HOST_TIME] = str(now)
        await response(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    """Content-Length, or -1 when absent or unreadable (the streamed count still applies)."""
    try:
        return int(dict(scope["headers"]).get(b"content-length", b"-1"))
    except ValueError:
        return -1
