"""Console users for the administrator: list, add, unlock, disable. ``ssn-gateway users`` does
the same from the command line (the first administrator is made there)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from host_gateway.db import transaction
from host_gateway.web import users
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import ROLE_LABELS, Permission
from host_gateway.web.sessions import Operator

router = APIRouter()


@router.get("/pengguna", response_class=HTMLResponse)
def users_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.USERS_MANAGE))]
) -> HTMLResponse:
    console = state(request)
    with transaction(console.factory) as session:
        rows = users.list_users(session)
    return render(
        request, "users.html", operator, rows=rows, roles=ROLE_LABELS, now=console.clock()
    )


@router.post("/pengguna")
def add_user(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.USERS_MANAGE))],
    username: Annotated[str, Form()],
    full_name: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        users.add_user(
            session, operator.username, username, full_name, role, password, console.clock()
        )
    return RedirectResponse("/console/pengguna", status_code=303)


@router.post("/pengguna/{username}/{action}")
def change_user(
    request: Request,
    username: str,
    action: Literal["buka", "nonaktif"],
    operator: Annotated[Operator, Depends(need(Permission.USERS_MANAGE))],
) -> Response:
    """Unlock (``buka``) or disable (``nonaktif``) an operator."""
    console = state(request)
    with transaction(console.factory) as session:
        if action == "buka":
            users.unlock(session, operator.username, username, console.clock())
        else:
            users.set_disabled(session, operator.username, username, True, console.clock())
    return RedirectResponse("/console/pengguna", status_code=303)
