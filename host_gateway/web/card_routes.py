"""Cards: the list, each card's purses and history (records, loads, hotlist), hotlisting a
card and closing it when its recipient leaves (data officer). The same services and audit lines
as ``ssn-gateway cards show|hotlist`` and ``recipients close-card``. Replacing a card needs the
blank card in a reader at the host: that stays ``ssn-gateway recipients replace-card``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from host_gateway import cards, cardview, events
from host_gateway.db import transaction
from host_gateway.models import Card
from host_gateway.programs import cardlife
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

router = APIRouter()
PAGE = 200
REASONS = {
    cards.BLOCK_LOST: "hilang",
    cards.BLOCK_CLONED: "digandakan (kloning)",
    cards.BLOCK_FRAUD: "penyalahgunaan",
    cards.BLOCK_SPOILED: "rusak",
}
"""Hotlist reasons an operator picks; 'ineligible' (4) is what closing a card writes."""


@router.get("/kartu", response_class=HTMLResponse)
def cards_page(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.CARDS_VIEW))],
    q: str = "",
) -> HTMLResponse:
    query = select(Card.number, Card.holder_name, Card.status).order_by(Card.number.desc())
    if q.strip():
        query = query.where(Card.number.startswith(q.strip()[:16]))
    with transaction(state(request).factory) as session:
        rows = [tuple(r) for r in session.execute(query.limit(PAGE))]
    return render(request, "cards.html", operator, rows=rows, q=q.strip())


@router.get("/kartu/{number}", response_class=HTMLResponse)
def card_page(
    request: Request,
    number: str,
    operator: Annotated[Operator, Depends(need(Permission.CARDS_VIEW))],
) -> HTMLResponse:
    with transaction(state(request).factory) as session:
        card = cardview.summary(session, number)
        past = cardview.history(session, number)
    return render(request, "card.html", operator, card=card, past=past, reasons=REASONS)


@router.post("/kartu/{number}/blokir")
def hotlist(
    request: Request,
    number: str,
    operator: Annotated[Operator, Depends(need(Permission.CARDS_MANAGE))],
    reason: Annotated[int, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        cards.hotlist_card(
            session, console.issuer_keys(), number, reason, note.strip()[:200], console.clock()
        )
        action = f"cards hotlist {number} reason {reason}"
        events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse(f"/console/kartu/{number}", status_code=303)


@router.post("/kartu/{number}/tutup")
def close(
    request: Request,
    number: str,
    operator: Annotated[Operator, Depends(need(Permission.CARDS_MANAGE))],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        cardlife.close(session, console.issuer_keys(), number, console.clock())
        events.audit(session, console.clock(), operator.username, f"recipients close-card {number}")
    return RedirectResponse(f"/console/kartu/{number}", status_code=303)
