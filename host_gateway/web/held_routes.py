"""Held sales: the genuine card debits the host holds with a reason (their money in suspense),
a release asked with a reason (settlement operator) and approved by another operator (approver:
the host refuses who asked), then paid to the shop by the next window. The same services and
audit lines as ``ssn-gateway held list|release|approve|releases`` (host_gateway/releases.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from host_gateway import events, releases
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import HeldRelease
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

router = APIRouter()
PAGE = 200
"""Held sales shown at once, newest first (``held list --limit``)."""
MAX_REASON = 200
HERE = "/console/settlement/ditahan"


@router.get("/settlement/ditahan", response_class=HTMLResponse)
def held_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_VIEW))]
) -> HTMLResponse:
    with transaction(state(request).factory) as session:
        held = releases.held_sales(session, PAGE)
        asked = list(session.scalars(select(HeldRelease).order_by(HeldRelease.id.desc())))
    waiting = [r for r in asked if r.approved_at is None]
    approved = [r for r in asked if r.approved_at is not None]
    return render(request, "held.html", operator, held=held, waiting=waiting, approved=approved,
                  limit=PAGE)  # fmt: skip


@router.post("/settlement/ditahan/lepaskan")
def ask_release(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_RUN))],
    record: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """The maker: nothing moves until another operator approves."""
    console = state(request)
    reference = record.strip()
    try:
        with transaction(console.factory) as session:
            asked = releases.ask(
                session, reference, operator.username, reason.strip()[:MAX_REASON], console.clock()
            )
            action = f"held release {asked.id} of {reference} by {operator.username}"
            events.audit(session, console.clock(), operator.username, action)
    except IntegrityError:  # the same form sent twice at once: the other one asked it
        raise GatewayError("invalid", f"sale {reference} has a release already") from None
    return RedirectResponse(HERE, status_code=303)


@router.post("/settlement/ditahan/{release_id}/setujui")
def approve_release(
    request: Request,
    release_id: int,
    operator: Annotated[Operator, Depends(need(Permission.PAYOUTS_RELEASE))],
) -> Response:
    """The checker: the held money goes from suspense to the shop."""
    console = state(request)
    with transaction(console.factory) as session:
        releases.approve(session, release_id, operator.username, console.clock())
        action = f"held release {release_id} approved by {operator.username}"
        events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse(HERE, status_code=303)
