"""Programs and their monthly aid with maker-checker: define a program, prepare a period's
loads (program officer), approve them (approver: the host refuses the operator who prepared
them), and each batch's status with why a card has not received its aid. The same services
and audit lines as ``ssn-gateway programs`` and ``aid`` (host_gateway/programs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from host_gateway import events
from host_gateway.db import transaction
from host_gateway.programs import aid, terms
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

router = APIRouter()


@router.get("/program", response_class=HTMLResponse)
def programs_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.PROGRAMS_VIEW))]
) -> HTMLResponse:
    with transaction(state(request).factory) as session:
        programs = sorted(terms.all_terms(session).values(), key=lambda t: t.program_code)
        batches = list(reversed(aid.batches(session)))
        session.expunge_all()
    return render(
        request,
        "programs.html",
        operator,
        programs=programs,
        batches=batches,
        funders=terms.FUNDER_KINDS,
        eligibility=terms.ELIGIBILITY,
    )


@router.post("/program")
def define_program(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.PROGRAMS_DEFINE))],
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    funder: Annotated[str, Form()],
    categories: Annotated[str, Form()],
    benefit: Annotated[int, Form()],
    period_months: Annotated[int, Form()] = 1,
    load_day: Annotated[int, Form()] = 1,
    expiry_periods: Annotated[int, Form()] = 3,
    eligibility: Annotated[str, Form()] = "",
    households_allowed: Annotated[bool, Form()] = False,
) -> Response:
    console = state(request)
    value = terms.TermsInput(
        code=code.strip(),
        name=name.strip(),
        funder_kind=funder,
        categories=[c.strip() for c in categories.split(",") if c.strip()],
        benefit=benefit,
        period_months=period_months,
        load_day=load_day,
        expiry_periods=expiry_periods,
        eligibility=eligibility,
        households_allowed=households_allowed,
    )
    with transaction(console.factory) as session:
        terms.define(session, value, console.clock())
        action = f"programs define {value.code} Rp{benefit} every {period_months}m"
        events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse("/console/program", status_code=303)


@router.post("/bantuan")
def prepare_aid(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.LOADS_PREPARE))],
    program: Annotated[str, Form()],
    period: Annotated[str, Form()],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        done = aid.prepare(session, program, period.strip(), operator.username, console.clock())
        action = f"aid prepare {done.batch.id} {program} {period.strip()} by {operator.username}"
        events.audit(session, console.clock(), operator.username, action)
        batch_id = done.batch.id
    return RedirectResponse(f"/console/bantuan/{batch_id}", status_code=303)


@router.post("/bantuan/{batch_id}/setujui")
def approve_aid(
    request: Request,
    batch_id: int,
    operator: Annotated[Operator, Depends(need(Permission.LOADS_APPROVE))],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        signed = aid.approve(
            session, console.issuer_keys(), batch_id, operator.username, console.clock()
        )
        action = f"aid approve {batch_id} by {operator.username}: {signed} loads signed"
        events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse(f"/console/bantuan/{batch_id}", status_code=303)


@router.get("/bantuan/{batch_id}", response_class=HTMLResponse)
def aid_status(
    request: Request,
    batch_id: int,
    operator: Annotated[Operator, Depends(need(Permission.PROGRAMS_VIEW))],
) -> HTMLResponse:
    with transaction(state(request).factory) as session:
        status = aid.status(session, batch_id)
    return render(request, "aid_batch.html", operator, batch=status)
