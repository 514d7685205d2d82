"""Recipients: the list (NIK masked), the portal CSV checked and imported with its report, and
one NIK revealed with a reason. The same services and audit lines as ``ssn-gateway
recipients`` (host_gateway/programs/recipients.py); the reveal audits itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from host_gateway import events
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.programs import recipients
from host_gateway.programs.identity import Identities
from host_gateway.programs.models import Recipient
from host_gateway.web.guard import ConsoleState, need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator

router = APIRouter()
PAGE = 200
"""Rows shown at once: each masked NIK is opened with the data key."""
MODES = {"periksa": "check", "impor": "all", "impor-baik": "good rows"}


def _ids(console: ConsoleState) -> Identities:
    return Identities(console.issuer_keys().nik_key)


def _page(
    request: Request, operator: Operator, kelurahan: str = "", status: int = 200, **extra: object
) -> HTMLResponse:
    console = state(request)
    with transaction(console.factory) as session:
        rows = recipients.listing(session, _ids(console), kelurahan or None, limit=PAGE)
        total = session.scalar(select(func.count()).select_from(Recipient)) or 0
    context: dict[str, object] = {"rows": rows, "total": total, "kelurahan": kelurahan}
    return render(request, "recipients.html", operator, status, **(context | extra))


@router.get("/penerima", response_class=HTMLResponse)
def recipients_page(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.RECIPIENTS_VIEW))],
    kelurahan: str = "",
) -> HTMLResponse:
    return _page(request, operator, kelurahan.strip())


@router.post("/penerima/impor", response_class=HTMLResponse)
async def import_file(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.RECIPIENTS_IMPORT))],
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form()] = "periksa",
) -> HTMLResponse:
    data = await file.read(recipients.MAX_BYTES + 1)
    name = (file.filename or "upload.csv")[-100:]
    return _import(request, operator, data, name, mode)


def _import(
    request: Request, operator: Operator, data: bytes, name: str, mode: str
) -> HTMLResponse:
    """Check, or import all rows or none, or the good rows only; the report is shown either way."""
    console = state(request)
    if mode not in MODES:
        raise GatewayError("invalid", f"unknown import mode {mode!r}")
    error = ""
    stored = False
    try:
        with transaction(console.factory) as session:
            if mode == "periksa":
                report = recipients.validate(session, _ids(console), data)
            else:
                report = recipients.import_rows(
                    session, _ids(console), data, console.clock(), exclude_bad=mode == "impor-baik"
                )
                action = (
                    f"recipients import {name}: {len(report.new)} new, {report.unchanged}"
                    f" unchanged, {len(report.bad)} excluded"
                )
                events.audit(session, console.clock(), operator.username, action)
                stored = True
    except GatewayError as exc:
        if exc.code != "invalid_rows":
            raise
        error = exc.message
        with transaction(console.factory) as session:
            report = recipients.validate(session, _ids(console), data)
    status = 400 if error else 200
    summary = report.summary()
    return _page(request, operator, "", status, report=summary, file_name=name, stored=stored,
                 error=error, mode=mode)  # fmt: skip


@router.post("/penerima/{recipient_id}/nik", response_class=HTMLResponse)
def reveal(
    request: Request,
    recipient_id: int,
    operator: Annotated[Operator, Depends(need(Permission.NIK_REVEAL))],
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    console = state(request)
    with transaction(console.factory) as session:
        nik = recipients.reveal_nik(
            session,
            _ids(console),
            recipient_id,
            operator=operator.username,
            reason=reason.strip()[:200],
            now=console.clock(),
        )
        shown = session.get_one(Recipient, recipient_id)
        name = shown.name
    return render(request, "nik.html", operator, recipient_id=recipient_id, name=name, nik=nik,
                  reason=reason.strip())  # fmt: skip
