"""The terminal API's host-only bodies and its error answers for the OpenAPI document.

What the terminal sends and reads lives in ledger.wire, shared with the terminal's sync client.
"""

from __future__ import annotations

from typing import Any

from ledger.wire import Answer, ErrorBody

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "the body is not JSON"),
        (401, "not authenticated: bad or missing signature, clock skew, replayed request"),
        (403, "refused: revoked terminal, expired certificate, unusable enrollment code"),
        (404, "no such card"),
        (409, "conflict with what the host holds"),
        (408, "the request body did not arrive in time"),
        (413, "the request body is over the size limit"),
        (422, "the request does not follow the schema, or a value in it is unusable"),
        (503, "the host is busy (database locked or unreachable): retry after Retry-After"),
    )
}
"""The error answers every route may give, for the OpenAPI document."""

BUSY: dict[int | str, dict[str, Any]] = {503: ERRORS[503]}
"""The one error a public read may give."""


class TimeBody(Answer):
    host_time: int


class Health(Answer):
    status: str
    host_time: int


class TerminalStatus(Answer):
    terminal_id: str
    shop_id: str
    certificate: str
    contiguous_seq: int
    last_hash: str | None
    host_time: int
