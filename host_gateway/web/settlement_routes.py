"""Settlement: close a business day's window, see each shop's money by program with what is
held, prepare the payout (settlement operator) and release it (approver: the host refuses who
prepared it), download the pain.001 and CSV, import the bank's pain.002 and camt.053 and see
what was paid or rejected and the giro in the books against the bank's balance. The same
services and audit lines as ``ssn-gateway settlement`` and ``bank`` (host_gateway/settlement)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from host_gateway import events
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.settlement import daycheck, payouts, reconcile, windows
from host_gateway.settlement.models import Payout
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

router = APIRouter()
MAX_BANK_FILE = 50 * 1024 * 1024


def _overview(request: Request, operator: Operator, **extra: Any) -> HTMLResponse:
    with transaction(state(request).factory) as session:
        books = reconcile.books(session)
        listed = [(w.business_date, w.closed_at, w.closed_by) for w in windows.listing(session)]
        items = [
            (i.end_to_end_id, i.shop_id, i.amount, i.status, i.reason)
            for i in payouts.items(session)
        ]
    return render(request, "settlement.html", operator, books=books,
                  windows=list(reversed(listed)), items=items, **extra)  # fmt: skip


@router.get("/settlement", response_class=HTMLResponse)
def settlement_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_VIEW))]
) -> HTMLResponse:
    return _overview(request, operator)


@router.post("/settlement/tutup")
def close_window(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_RUN))],
    day: Annotated[dt.date, Form()],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        window = windows.close(session, day, operator.username, console.clock())
        if window.newly_closed:
            action = f"settlement close {day} by {operator.username}"
            events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse(f"/console/settlement/{day}", status_code=303)


@router.get("/settlement/{day}", response_class=HTMLResponse)
def window_page(
    request: Request,
    day: dt.date,
    operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_VIEW))],
) -> HTMLResponse:
    with transaction(state(request).factory) as session:
        row = windows.find(session, day)
        window = windows.load(session, row)
        checks = daycheck.compare(session, day, [s.shop_id for s in window.shops])
        payout = session.get(Payout, row.id)
        made = (payout.prepared_by, payout.released_by) if payout is not None else None
        items = [
            (i.end_to_end_id, i.shop_id, i.amount, i.status, i.reason)
            for i in payouts.items(session, day)
        ]
    return render(request, "window.html", operator, window=window, checks=checks, made=made,
                  items=items)  # fmt: skip


@router.post("/settlement/{day}/siapkan")
def prepare_payout(
    request: Request,
    day: dt.date,
    operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_RUN))],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        payouts.prepare(session, day, operator.username, console.clock())
        action = f"settlement prepare {day} by {operator.username}"
        events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse(f"/console/settlement/{day}", status_code=303)


@router.post("/settlement/{day}/rilis")
def release_payout(
    request: Request,
    day: dt.date,
    operator: Annotated[Operator, Depends(need(Permission.PAYOUTS_RELEASE))],
) -> Response:
    console = state(request)
    with transaction(console.factory) as session:
        payouts.release(session, day, operator.username, console.clock())
        action = f"settlement release {day} by {operator.username}"
        events.audit(session, console.clock(), operator.username, action)
    return RedirectResponse(f"/console/settlement/{day}", status_code=303)


def _file(request: Request, day: dt.date, xml: bool) -> Response:
    with transaction(state(request).factory) as session:
        made = payouts.render(session, day)
    name = f"{made.message_id}.{'xml' if xml else 'csv'}"
    return Response(
        made.xml if xml else made.csv,
        media_type="application/xml" if xml else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/settlement/{day}/pain001.xml")
def payout_xml(
    request: Request,
    day: dt.date,
    _operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_VIEW))],
) -> Response:
    return _file(request, day, xml=True)


@router.get("/settlement/{day}/transfer.csv")
def payout_csv(
    request: Request,
    day: dt.date,
    _operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_VIEW))],
) -> Response:
    return _file(request, day, xml=False)


@router.post("/bank/impor", response_class=HTMLResponse)
async def import_bank_files(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.SETTLEMENT_RUN))],
    files: Annotated[list[UploadFile], File()],
) -> HTMLResponse:
    loaded = [((f.filename or "bank.xml")[-100:], await f.read(MAX_BANK_FILE + 1)) for f in files]
    console = state(request)
    results: list[tuple[str, reconcile.ImportResult | None, str]] = []
    for name, data in loaded:  # one file, one transaction, as the CLI; a bad one changes nothing
        try:
            if len(data) > MAX_BANK_FILE:
                raise GatewayError("invalid_file", f"larger than {MAX_BANK_FILE} bytes")
            with transaction(console.factory) as session:
                result = reconcile.import_file(session, data, console.clock())
                if not result.duplicate:
                    action = f"bank import {result.file_id}"
                    events.audit(session, console.clock(), operator.username, action)
            results.append((name, result, ""))
        except GatewayError as exc:
            results.append((name, None, exc.message))
    return _overview(request, operator, results=results)
