"""Headers on every answer, refusals from the middleware included.

``SSN-Host-Time`` lets a terminal measure its clock skew from any answer; ``nosniff`` and
``no-store`` because every body is JSON meant for one terminal (loads, hotlists, records) and
must neither be rendered as something else nor kept by a cache in between.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.request_auth import HEADER_HOST_TIME


class ResponseHeaders:
    def __init__(self, app: ASGIApp, clock: Callable[[], int]) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[HEADER_HOST_TIME] = str(self.clock())
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
