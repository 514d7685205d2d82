"""Reports: the semester report to the mayor (Perwali 58/2022) on the page with its charts and
as the same JSON, CSV and PDF as ``ssn-gateway settlement report``; the catalog in force with
its HET ceilings (read-only: publishing stays with the CLI)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from host_gateway import distribution
from host_gateway.db import transaction
from host_gateway.display import rupiah
from host_gateway.errors import GatewayError
from host_gateway.settlement import semester, semester_pdf
from host_gateway.web.charts import bars
from host_gateway.web.guard import need, state
from host_gateway.web.render import render
from host_gateway.web.roles import Permission
from host_gateway.web.sessions import Operator
from ledger.verify import business_date
from ledger.wire import CATALOG_KIND

router = APIRouter()
TYPES = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}


def _report(request: Request, year: int, half: int) -> dict[str, Any]:
    with transaction(state(request).factory) as session:
        return semester.build(session, year, half)


@router.get("/laporan", response_class=HTMLResponse)
def report_page(
    request: Request,
    operator: Annotated[Operator, Depends(need(Permission.REPORTS_VIEW))],
    tahun: int | None = None,
    semester_ke: int | None = None,
) -> HTMLResponse:
    today = business_date(state(request).clock())
    year = tahun or today.year
    half = semester_ke or (1 if today.month <= 6 else 2)
    report = _report(request, year, half)
    programs = report["programs"]
    chart = bars(
        [
            (f"{p['program']} {label}", int(p[key]), rupiah(int(p[key])))
            for p in programs
            for key, label in (
                ("loaded", "dimuat"),
                ("spent", "dibelanjakan"),
                ("expired", "hangus"),
            )
        ]
    )
    months: dict[str, int] = {}
    for row in report["sales"]:
        months[row["month"]] = months.get(row["month"], 0) + row["amount"]
    month_chart = bars([(m, a, rupiah(a)) for m, a in sorted(months.items())])
    return render(request, "report.html", operator, report=report, year=year, half=half,
                  chart=chart, month_chart=month_chart)  # fmt: skip


@router.get("/laporan/{year}/{half}/{kind}")
def report_file(
    request: Request,
    year: int,
    half: int,
    kind: str,
    _operator: Annotated[Operator, Depends(need(Permission.REPORTS_VIEW))],
) -> Response:
    if kind not in TYPES:
        raise GatewayError("not_found", f"no report as {kind}", 404)
    report = _report(request, year, half)
    writers = {"json": semester.to_json, "csv": semester.to_csv, "pdf": semester_pdf.render}
    data = writers[kind](report)
    name = semester.file_name(report, kind)
    return Response(data, media_type=TYPES[kind],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/katalog", response_class=HTMLResponse)
def catalog_page(
    request: Request, operator: Annotated[Operator, Depends(need(Permission.REPORTS_VIEW))]
) -> HTMLResponse:
    console = state(request)
    cache = distribution.CatalogCache(console.issuer_keys().anchors.authority_keys)
    with transaction(console.factory) as session:
        catalog = cache.get(session, distribution.latest_version(session, CATALOG_KIND))
    return render(request, "catalog.html", operator, catalog=catalog)
