"""Loads superseded when their card ended: carried to the new card or back to the fund, and the
ones the old card applied anyway (held as ``load_superseded``, their money in suspense). Read
only, for every role that sees held sales; the same list as ``ssn-gateway cards superseded``
(host_gateway/programs/superseded.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from host_gateway.db import transaction
from host_gateway.programs.superseded import superseded_loads
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

router = APIRouter()
PAGE = 200
"""Superseded loads shown at once, newest first (``cards superseded --limit``)."""


@router.get("/settlement/dialihkan", response_class=HTMLResponse)
def superseded_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_VIEW))]
) -> HTMLResponse:
    with transaction(state(request).factory) as session:
        rows = superseded_loads(session, PAGE)
    held = sum(row.in_suspense for row in rows)
    return render(request, "superseded.html", operator, rows=rows, held=held, limit=PAGE)
