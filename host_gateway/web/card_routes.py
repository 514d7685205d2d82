"""Cards: the list, each card's purses and history (records, loads, hotlist, PIN-unblock
orders), hotlisting a card, closing it when its recipient leaves and signing a PIN-unblock order
for a holder who used up the PIN tries (data officer). The same services and audit lines as
``ssn-gateway cards show|hotlist|unblock-pin`` and ``recipients close-card``. What needs the card
in a reader at the host stays on the command line: ``recipients replace-card`` and
``cards unblock-pin --reader``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from host_gateway import cards, cardview, events, pin_unblocks
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.models import Card
from host_gateway.programs import cardlife
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator
from ledger.cardproofs import MAX_PIN_TRIES, UNBLOCK_ORDER_DAYS
from ledger.verify import business_date

router = APIRouter()
PAGE = 200
REASONS = {
    cards.BLOCK_LOST: "hilang",
    cards.BLOCK_CLONED: "digandakan (kloning)",
    cards.BLOCK_FRAUD: "penyalahgunaan",
    cards.BLOCK_SPOILED: "rusak",
}
"""Hotlist reasons an operator picks; 'ineligible' (4) is what closing a card writes."""
UNBLOCK_STATES = {"open": "terbuka", "applied": "diterapkan kartu", "expired": "kedaluwarsa"}
UNBLOCK_LIMITS = {
    "tries": (1, MAX_PIN_TRIES, pin_unblocks.DEFAULT_TRIES),
    "days": (1, pin_unblocks.MAX_ORDER_DAYS, UNBLOCK_ORDER_DAYS),
}
"""The form's bounds and defaults, as ``cards unblock-pin --tries/--days``; the service checks."""


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
    console = state(request)
    today = business_date(console.clock())
    with transaction(console.factory) as session:
        card = cardview.summary(session, number)
        past = cardview.history(session, number)
        orders = pin_unblocks.orders_of(session, number)
        unblocks = [pin_unblocks.describe(row, today) for row in reversed(orders)]
    return render(
        request,
        "card.html",
        operator,
        card=card,
        past=past,
        reasons=REASONS,
        unblocks=unblocks,
        unblock_states=UNBLOCK_STATES,
        limits=UNBLOCK_LIMITS,
    )


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


def _whole(text: str, what: str) -> int:
    """A number typed in a form: a clear refusal rather than FastAPI's JSON for 'tiga'."""
    try:
        return int(text.strip())
    except ValueError:
        raise GatewayError(
            "invalid", f"{what} must be a whole number, not {text.strip()!r}"
        ) from None


@router.post("/kartu/{number}/buka-pin")
def unblock_pin(
    request: Request,
    number: str,
    operator: Annotated[Operator, Depends(need(Permission.CARDS_MANAGE))],
    tries: Annotated[str, Form()] = str(pin_unblocks.DEFAULT_TRIES),
    days: Annotated[str, Form()] = str(UNBLOCK_ORDER_DAYS),
) -> Response:
    """Sign the card's PIN-unblock order; ``issue_unblock`` writes the audit line itself, as for
    ``cards unblock-pin``. The next terminal that served the card writes it to the card."""
    console = state(request)
    tries_n, days_n = _whole(tries, "tries"), _whole(days, "days")
    with transaction(console.factory) as session:
        pin_unblocks.issue_unblock(
            session,
            console.issuer_keys(),
            number,
            operator=operator.username,
            now=console.clock(),
            tries=tries_n,
            valid_days=days_n,
        )
    return RedirectResponse(f"/console/kartu/{number}", status_code=303)
