"""Signing in and out. The sign-in form has no session yet, so its CSRF token is a
double-submit cookie: a cross-site page cannot read it to put it in its own form."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from host_gateway.db import transaction
from host_gateway.web import sessions, users
from host_gateway.web.guard import COOKIE, need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

LOGIN_COOKIE = "ssn_console_login"
router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a console path: never send a signed-in browser to another site."""
    if target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return "/console/"


def _sign_in_page(request: Request, target: str, error: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "signin.html", None, status, csrf=token, next=_safe_next(target), error=error
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/console/masuk",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/masuk", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str = "/console/") -> Response:
    return _sign_in_page(request, next)


@router.post("/masuk", response_class=HTMLResponse)
def sign_in(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf):
        return _sign_in_page(request, next, "Formulir kedaluwarsa, silakan coba lagi.", 403)
    console = state(request)
    with transaction(console.factory) as session:
        now = console.clock()
        result = users.sign_in(session, username.strip().lower(), password, now)
        token = sessions.open_session(session, result.user, now) if result.user else ""
        if result.user:
            sessions.prune(session, now)
    if not token:
        return _sign_in_page(request, next, result.refusal, 401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", path="/console",
        secure=request.url.scheme == "https", max_age=sessions.LIFETIME_SECONDS,
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/console/masuk")
    return response


@router.post("/keluar")
def sign_out(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.DASHBOARD))]
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        sessions.close_session(session, request.cookies.get(COOKIE, ""))
        users.audit_sign_out(session, operator.username, console.clock())
    response = RedirectResponse("/console/masuk", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
