"""Templates (Jinja2, autoescaped) with the helpers every page uses: rupiah, WITA times, lags,
and the navigation a role may see (links to pages it cannot open are not shown)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from host_gateway.display import duration, rupiah, signed_rupiah, wita
from host_gateway.web.roles import ROLE_LABELS, Permission, Role, allowed
from host_gateway.web.sessions import Operator


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    permission: Permission


NAV = (
    NavItem("/console/", "Dasbor", Permission.DASHBOARD),
    NavItem("/console/toko", "Toko & terminal", Permission.SHOPS_VIEW),
    NavItem("/console/penerima", "Penerima", Permission.RECIPIENTS_VIEW),
    NavItem("/console/kartu", "Kartu", Permission.CARDS_VIEW),
    NavItem("/console/program", "Program & bantuan", Permission.PROGRAMS_VIEW),
    NavItem("/console/settlement", "Settlement", Permission.SETTLEMENT_VIEW),
    NavItem("/console/settlement/ditahan", "Penjualan ditahan", Permission.SETTLEMENT_VIEW),
    NavItem("/console/settlement/dialihkan", "Muatan dialihkan", Permission.SETTLEMENT_VIEW),
    NavItem("/console/laporan", "Laporan", Permission.REPORTS_VIEW),
    NavItem("/console/katalog", "Katalog", Permission.REPORTS_VIEW),
    NavItem("/console/audit", "Log audit", Permission.AUDIT_VIEW),
    NavItem("/console/pengguna", "Pengguna", Permission.USERS_MANAGE),
)
"""Pages in menu order; a new page adds its line here and its permission in roles.GRANTS."""

TEMPLATES = Jinja2Templates(directory=str(resources.files("host_gateway.web") / "templates"))
TEMPLATES.env.filters.update(
    rupiah=rupiah, signed_rupiah=signed_rupiah, wita=wita, duration=duration
)
TEMPLATES.env.globals["role_label"] = lambda role: ROLE_LABELS.get(Role(role), role)


HOME = "/console/"


def back_link(request: Request) -> str:
    """Where an error page's "back" goes: the console page the request came from (its Referer)
    when that is this host's console, as a path; else the console's home. Never another host
    (``//other/console/``, ``https://other/console/``), never outside the console."""
    referer = request.headers.get("referer", "")
    if not referer or "\\" in referer or not referer.isprintable():
        return HOME
    try:
        parts = urlsplit(referer)
    except ValueError:
        return HOME
    host = request.headers.get("host", "")
    if parts.scheme not in ("http", "https") or not host or parts.netloc != host:
        return HOME
    if parts.path != "/console" and not parts.path.startswith("/console/"):
        return HOME
    if {".", ".."} & set(unquote(parts.path).split("/")):  # /console/../v1: out of the console
        return HOME
    return parts.path + (f"?{parts.query}" if parts.query else "")


def render(
    request: Request,
    template: str,
    operator: Operator | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    nav = [item for item in NAV if operator and allowed(operator.role, item.permission)]
    may = {p.value: allowed(operator.role, p) for p in Permission} if operator else {}
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"operator": operator, "nav": nav, "path": request.url.path, "may": may, **context},
        status_code=status,
    )
