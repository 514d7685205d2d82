"""Shops and their terminals: add a shop, make a terminal's one-time enrollment code, revoke a
terminal. The same service functions and audit entries as ``ssn-gateway shops/enroll-code/
terminals``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from host_gateway import enrollment, events, gaps, shops
from host_gateway.db import transaction
from host_gateway.web import dashboard
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission, allowed
from host_gateway.web.sessions import Operator

router = APIRouter()


@router.get("/toko", response_class=HTMLResponse)
def shops_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.SHOPS_VIEW))]
) -> HTMLResponse:
    console = state(request)
    with transaction(console.factory) as session:
        held = gaps.held_by_shop(session)
        rows = [
            (shop, shops.payable(session, shop.id), held.get(shop.id, 0))
            for shop in shops.list_shops(session)
        ]
        terminals = dashboard.terminal_states(session, console.clock())
    return render(
        request,
        "shops.html",
        operator,
        rows=rows,
        terminals=terminals,
        kinds=shops.SHOP_KINDS,
        can_manage=allowed(operator.role, Permission.SHOPS_MANAGE),
    )


@router.post("/toko")
def add_shop(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.SHOPS_MANAGE))],
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        shop = shops.add_shop(session, name, kind, console.clock())
        events.audit(session, console.clock(), operator.username, f"shops add {shop.id}")
    return RedirectResponse("/console/toko", status_code=303)


@router.post("/toko/{shop_id}/kode", response_class=HTMLResponse)
def enroll_code(
    request: Request,
    shop_id: str,
    operator: Annotated[Operator, Depends(need(Permission.SHOPS_MANAGE))],
) -> HTMLResponse:
    console = state(request)
    with transaction(console.factory) as session:
        code = enrollment.create_code(session, shop_id, console.clock())
        events.audit(session, console.clock(), operator.username, f"enroll-code for shop {shop_id}")
    return render(request, "enroll_code.html", operator, shop_id=shop_id, code=code)


@router.post("/terminal/{terminal_id}/cabut")
def revoke_terminal(
    request: Request,
    terminal_id: str,
    operator: Annotated[Operator, Depends(need(Permission.SHOPS_MANAGE))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    console = state(request)
    reason = reason.strip() or "revoked by operator"
    with transaction(console.factory) as session:
        terminal = enrollment.revoke(session, terminal_id, reason, console.clock())
        action = f"terminals revoke {terminal.id}: {reason}"
        events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse("/console/toko", status_code=303)
