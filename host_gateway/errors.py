"""The one error type service functions raise: a stable code, a clear message, an HTTP status.

The API turns it into ``{"error": {"code", "message"}}`` with that status; the CLI into one line
on stderr. Raising it inside a transaction rolls the transaction back: bad input changes nothing.
"""

from __future__ import annotations

from starlette.responses import JSONResponse


class GatewayError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def not_found(what: str) -> GatewayError:
    return GatewayError("not_found", f"{what} does not exist", 404)


def error_response(status: int, code: str, message: str, host_time: int) -> JSONResponse:
    """The API's one error body, ``{"error": {"code", "message", "host_time"}}``."""
    body = {"error": {"code": code, "message": message, "host_time": host_time}}
    return JSONResponse(body, status_code=status)


RETRY_AFTER = 5
"""Seconds a client is asked to wait when the host is busy (503)."""


def busy_response(host_time: int, message: str = "") -> JSONResponse:
    """503 ``busy`` with ``Retry-After``: the database is locked or unreachable, or the host
    is reading as many requests as it takes at once. Nothing was changed; retry later."""
    text = message or "the host is busy; nothing was changed, retry later"
    response = error_response(503, "busy", text, host_time)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response
