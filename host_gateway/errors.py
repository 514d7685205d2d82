"""The one error type service functions raise: a stable code, a clear message, an HTTP status.

The API turns it into ``{"error": {"code", "message"}}`` with that status; the CLI into one line
on stderr. Raising it inside a transaction rolls the transaction back: bad input changes nothing.
"""

from __future__ import annotations


class GatewayError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def not_found(what: str) -> GatewayError:
    return GatewayError("not_found", f"{what} does not exist", 404)
