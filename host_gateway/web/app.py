"""The console as its own FastAPI app, mounted by the gateway at ``/console``; the terminal
API keeps its routes and its signed-request authentication untouched (host_gateway/api)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from host_gateway.errors import GatewayError
from host_gateway.pki import IssuerKeys
from host_gateway.web import (
    auth_routes,
    card_routes,
    held_routes,
    pages,
    program_routes,
    receipt_routes,
    recipient_routes,
    report_routes,
    settlement_routes,
    shop_routes,
    superseded_routes,
    user_routes,
)
from host_gateway.web.guard import ConsoleState, RefusedError, SignInRequiredError
from host_gateway.web.render import back_link, render

PREFIX = "/console"
ROUTERS = (
    auth_routes.router,
    pages.router,
    shop_routes.router,
    user_routes.router,
    recipient_routes.router,
    program_routes.router,
    held_routes.router,  # before settlement's: /settlement/ditahan is not a /settlement/{day}
    superseded_routes.router,  # nor /settlement/dialihkan
    settlement_routes.router,
    card_routes.router,
    report_routes.router,
    receipt_routes.router,
)
"""A new page module adds its router here (docs/console.md)."""
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # the error page's way back; nothing to other sites
    "Cache-Control": "no-store",
}


def create_console(
    factory: sessionmaker[Session], clock: Callable[[], int], keys: IssuerKeys | None = None
) -> FastAPI:
    app = FastAPI(title="Konsol SSN", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = ConsoleState(factory, clock, keys)
    for router in ROUTERS:
        app.include_router(router)
    static = resources.files("host_gateway.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(SignInRequiredError)
    async def sign_in_first(request: Request, _exc: SignInRequiredError) -> Response:
        target = request.url.path if request.method == "GET" else f"{PREFIX}/"
        return RedirectResponse(f"{PREFIX}/masuk?next={quote(target)}", status_code=303)

    @app.exception_handler(RefusedError)
    async def refused(request: Request, exc: RefusedError) -> Response:
        back = back_link(request)
        return render(request, "refused.html", None, 403, reason=exc.reason, back=back)

    @app.exception_handler(GatewayError)
    async def service_error(request: Request, exc: GatewayError) -> Response:
        back = back_link(request)
        return render(request, "error.html", None, exc.status, message=exc.message, back=back)

    return app


def mount_console(
    api: FastAPI,
    factory: sessionmaker[Session],
    clock: Callable[[], int],
    keys: IssuerKeys | None = None,
) -> None:
    """Serve the console under ``/console`` of the gateway's app."""
    api.mount(PREFIX, create_console(factory, clock, keys))
