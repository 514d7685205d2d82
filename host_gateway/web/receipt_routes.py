"""The public receipt check: anyone with a receipt pastes (or a scanner app opens) its QR text
and learns whether the host holds that sale and what was paid; nothing about the holder."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from host_gateway.db import transaction
from host_gateway.receipts import ReceiptCheck, check_receipt
from host_gateway.web.guard import state
from host_gateway.web.render import render

router = APIRouter()
MAX_QR = 200


@router.get("/cek", response_class=HTMLResponse)
def check_page(request: Request, q: str = "") -> HTMLResponse:
    result: ReceiptCheck | None = None
    error = ""
    if q.strip():
        try:
            if len(q) > MAX_QR:
                raise ValueError("too long")
            with transaction(state(request).factory) as session:
                result = check_receipt(session, q)
        except ValueError:
            error = "Teks ini bukan kode QR struk SSN."
    return render(request, "receipt_check.html", None, q=q[:MAX_QR], result=result, error=error)
