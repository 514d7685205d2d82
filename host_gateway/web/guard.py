"""Every console route states who may reach it: ``need(Permission.X)`` as its dependency.

The dependency finds the session from the cookie, refuses a POST whose form does not carry the
session's CSRF token, and refuses a role the permission does not grant. A refusal changes
nothing and is the same for a link, a typed URL and a forged POST. RefusedError attempts by a
signed-in operator are events (``console_denied``), so probing is visible.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from host_gateway import events
from host_gateway.db import transaction
from host_gateway.web.roles import Permission, allowed
from host_gateway.web.sessions import Operator, operator_for

COOKIE = "ssn_console"


class SignInRequiredError(Exception):
    """No live session: the browser is sent to the sign-in page."""


class RefusedError(Exception):
    """Signed in, but this is not for this role, or the form's CSRF token is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ConsoleState:
    """What the routes need from the gateway: its database and clock."""

    factory: sessionmaker[Session]
    clock: Callable[[], int]


def state(request: Request) -> ConsoleState:
    console: ConsoleState = request.app.state.console
    return console


class Need:
    """The dependency: ``Depends(need(Permission.X))``; ``permission`` is read by the tests
    that try every route with every role."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request) -> Operator:
        console = state(request)
        token = request.cookies.get(COOKIE, "")
        operator = await run_in_threadpool(_lookup, console, token) if token else None
        if operator is None:
            raise SignInRequiredError()
        if request.method != "GET":
            form = await request.form()
            sent = form.get("csrf")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, operator.csrf):
                await run_in_threadpool(_denied, console, operator, request, "bad csrf token")
                raise RefusedError("csrf")
        if not allowed(operator.role, self.permission):
            await run_in_threadpool(_denied, console, operator, request, "role not allowed")
            raise RefusedError("role")
        return operator


def need(permission: Permission) -> Need:
    return Need(permission)


def _lookup(console: ConsoleState, token: str) -> Operator | None:
    with transaction(console.factory) as session:
        return operator_for(session, token, console.clock())


def _denied(console: ConsoleState, operator: Operator, request: Request, why: str) -> None:
    message = f"{operator.username}: {request.method} {request.url.path} refused ({why})"
    with transaction(console.factory) as session:
        events.record_events(session, console.clock(), [events.EventRow("console_denied", message)])
