"""The read-mostly pages: dashboard and audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from host_gateway.db import transaction
from host_gateway.display import rupiah
from host_gateway.models import Event
from host_gateway.web import dashboard
from host_gateway.web.charts import bars
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

router = APIRouter()

AUDIT_CODES = ("operator", "console_signin_failed", "console_lockout", "console_denied")
"""Operator actions (console and CLI alike) and what was refused to operators."""
AUDIT_PAGE = 100


@router.get("/", response_class=HTMLResponse)
def dashboard_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.DASHBOARD))]
) -> HTMLResponse:
    console = state(request)
    with transaction(console.factory) as session:
        data = dashboard.load(session, console.clock())
    sales_chart = bars([(p.program, p.sales_today, rupiah(p.sales_today)) for p in data.programs])
    aid_chart = bars(
        [
            item
            for p in data.programs
            for item in (
                (f"{p.program} dimuat", p.loaded, rupiah(p.loaded)),
                (f"{p.program} dibelanjakan", p.spent, rupiah(p.spent)),
            )
        ]
    )
    return render(
        request,
        "dashboard.html",
        operator,
        data=data,
        sales_chart=sales_chart,
        aid_chart=aid_chart,
        now=console.clock(),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.AUDIT_VIEW))],
    sebelum: int | None = None,
) -> HTMLResponse:
    query = select(Event).where(Event.code.in_(AUDIT_CODES))
    if sebelum is not None:
        query = query.where(Event.id < sebelum)
    with transaction(state(request).factory) as session:
        rows = list(session.scalars(query.order_by(Event.id.desc()).limit(AUDIT_PAGE)))
    older = rows[-1].id if len(rows) == AUDIT_PAGE else None
    return render(request, "audit.html", operator, rows=rows, older=older)
