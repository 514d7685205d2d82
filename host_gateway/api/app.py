"""The terminal API (FastAPI): enrollment, signed record upload, downloads, time.

Routes are thin: they parse and hand over to the service modules, whose GatewayError becomes
``{"error": {"code", "message", "host_time"}}`` with its status; a busy database becomes 503
``busy`` with ``Retry-After``. Bodies are read, bounded and authenticated before any route sees
them (host_gateway.api.limits); a route takes the terminal as ``Signed``. Blocking database work
runs in the thread pool. docs/api.md documents every endpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from host_gateway import distribution, enrollment, gaps, intents, pin_unblocks
from host_gateway.api import links
from host_gateway.api.card_routes import add_card_routes
from host_gateway.api.headers import ResponseHeaders
from host_gateway.api.limits import ClientLimits, RequestGuard, Signed
from host_gateway.api.schemas import BUSY as _BUSY
from host_gateway.api.schemas import ERRORS as _ERRORS
from host_gateway.api.schemas import Health, TerminalStatus, TimeBody
from host_gateway.db import read_transaction, transaction
from host_gateway.errors import GatewayError, busy_response, error_response
from host_gateway.events import FLUSH_EVERY
from host_gateway.gateway import Gateway
from host_gateway.ingest import MAX_BATCH, TerminalContext
from host_gateway.ingest.pipeline import RecordResult
from host_gateway.models import Terminal
from ledger.binary import FormatError
from ledger.request_auth import b64decode, b64encode
from ledger.verify import business_date
from ledger.wire import (
    CATALOG_KIND,
    CONFIG_KIND,
    HOTLIST_KIND,
    LOADS_KIND,
    Anchors,
    DocumentBody,
    EnrollRequest,
    EnrollResponse,
    HotlistBody,
    IngestRequest,
    IngestResponse,
    KeyBody,
    LoadBody,
    LoadsBody,
    ResolutionBody,
    ShopBody,
    UpdatesResponse,
    WantedBody,
)

log = logging.getLogger("host_gateway.api")


def create_app(
    gateway: Gateway, limits: ClientLimits | None = None, *, interactive_docs: bool = False
) -> FastAPI:
    """The terminal API. ``interactive_docs`` serves /docs and /redoc, whose pages load scripts
    from a public CDN: for development only (/openapi.json is always served)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        flusher = asyncio.create_task(_flush_refusals(gateway))
        try:
            yield
        finally:
            flusher.cancel()
            await run_in_threadpool(_flush_once, gateway)

    app = FastAPI(
        title="SSN host gateway",
        version="1",
        description="Terminal API of the Kartu SSN host gateway. See docs/api.md.",
        docs_url="/docs" if interactive_docs else None,
        redoc_url="/redoc" if interactive_docs else None,
        lifespan=lifespan,
    )
    app.add_middleware(RequestGuard, gateway=gateway, limits=limits or ClientLimits())
    app.add_middleware(ResponseHeaders, clock=gateway.clock)  # outermost: every answer

    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, gateway.clock())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        response = error_response(exc.status_code, code, str(exc.detail), gateway.clock())
        response.headers.update(exc.headers or {})  # 405 says which methods are allowed
        return response

    @app.exception_handler(OperationalError)
    async def database_busy(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database busy or unreachable: %s", exc.orig)
        return busy_response(gateway.clock())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        not_json = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if not_json:
            message = f"body is not JSON: {not_json[0].get('ctx', {}).get('error', '')}"
            return error_response(400, "bad_request", message, gateway.clock())
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()[:10]
        )
        return error_response(
            422, "invalid_request", problems or "invalid request", gateway.clock()
        )

    @app.get("/v1/time", response_model=TimeBody, tags=["public"], operation_id="getTime")
    def host_time() -> TimeBody:
        """The host clock (unix seconds); terminals compare it with their own."""
        return TimeBody(host_time=gateway.clock())

    @app.get("/v1/health", response_model=Health, responses=_BUSY, tags=["public"])
    def health() -> Health:
        """``ok`` once the database answers a read (never waits for a writer)."""
        with read_transaction(gateway.factory) as session:
            session.get(Terminal, "SMD-0000")
        return Health(status="ok", host_time=gateway.clock())

    @app.post(
        "/v1/enroll",
        response_model=EnrollResponse,
        responses=_ERRORS | links.ENROLL,
        tags=["enrollment"],
        operation_id="enroll",
    )
    def enroll(body: EnrollRequest) -> EnrollResponse:
        """Exchange a one-time code and a new public key for a terminal certificate."""
        try:
            public_key, proof = b64decode(body.public_key), b64decode(body.proof)
        except FormatError as exc:
            raise GatewayError("invalid_request", str(exc), 422) from exc
        now = gateway.clock()
        try:
            with transaction(gateway.factory) as session:
                done = enrollment.enroll(session, gateway.keys, body.code, public_key, proof, now)
                config = distribution.latest_document(session, CONFIG_KIND)
                shop = ShopBody(id=done.shop.id, name=done.shop.name, kind=done.shop.kind)
                terminal_id, certificate = done.terminal.id, done.terminal.certificate
        except GatewayError as exc:
            if exc.code == "invalid":  # an unusable key: the body's values, as for any schema
                raise GatewayError("invalid_request", f"public_key: {exc.message}", 422) from exc
            gateway.refusals.add(exc.code, exc.message)  # nobody is authenticated yet
            raise
        anchors = gateway.keys.anchors
        return EnrollResponse(
            terminal_id=terminal_id,
            certificate=b64encode(certificate),
            shop=shop,
            anchors=Anchors(
                ca=[
                    KeyBody(key_id=k.hex(), public_key=b64encode(v))
                    for k, v in anchors.ca_keys.items()
                ],
                authority=[
                    KeyBody(key_id=k.hex(), public_key=b64encode(v))
                    for k, v in anchors.authority_keys.items()
                ],
            ),
            config=None if config is None else b64encode(config[1]),
            host_time=now,
        )

    @app.post(
        "/v1/records",
        response_model=IngestResponse,
        responses=_ERRORS | links.RECORDS,
        tags=["terminal"],
        operation_id="uploadRecords",
    )
    async def upload(terminal: Signed, body: IngestRequest) -> Response:
        """Upload a batch of signed records; one result per record, idempotent."""
        items, undecodable = [], {}
        for number, record in enumerate(body.records[:MAX_BATCH]):
            try:
                items.append((record.id.bytes, b64decode(record.data)))
            except FormatError as exc:  # refused alone: the rest of the batch goes on
                undecodable[number] = RecordResult(
                    str(record.id), None, "rejected", "malformed", f"data: {exc}", stored=False
                )
        report = await run_in_threadpool(gateway.ingestor.ingest, terminal, items)
        decided = iter(report.results)
        report.results = [
            undecodable[n] if n in undecodable else next(decided)
            for n in range(len(items) + len(undecodable))
        ]
        answer = {
            "terminal_id": report.terminal_id,
            "host_time": gateway.clock(),
            "results": [r.__dict__ for r in report.results],
            "accepted": report.count("accepted"),
            "rejected": report.count("rejected"),
            "duplicates": sum(1 for r in report.results if r.duplicate),
            "conflicts": report.count("conflict"),
            "deferred": report.count("deferred"),
            "contiguous_seq": report.contiguous_seq,
            "last_seq": report.last_seq,
            "gaps": report.gaps,
        }
        # Built by hand, not through the response model: a thousand results would be validated
        # twice over for nothing. test_gateway_http checks the body against IngestResponse.
        return Response(json.dumps(answer, separators=(",", ":")), media_type="application/json")

    @app.get(
        "/v1/updates",
        response_model=UpdatesResponse,
        responses=_ERRORS | links.UPDATES,
        tags=["terminal"],
        operation_id="getUpdates",
    )
    async def updates(
        terminal: Signed,
        catalog: Annotated[int, Query(ge=0, le=2**62)] = 0,
        config: Annotated[int, Query(ge=0, le=2**62)] = 0,
        hotlist: Annotated[int, Query(ge=0, le=2**62)] = 0,
        loads: Annotated[int, Query(ge=0, le=2**62)] = 0,
        seq: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    ) -> UpdatesResponse:
        """What changed since the versions the terminal holds (``seq``: its last journal seq)."""
        held = {
            CATALOG_KIND: catalog,
            CONFIG_KIND: config,
            HOTLIST_KIND: hotlist,
            LOADS_KIND: loads,
        }
        return await run_in_threadpool(_updates, gateway, terminal, held, seq)

    add_card_routes(app, gateway)

    @app.get(
        "/v1/terminal",
        response_model=TerminalStatus,
        responses=_ERRORS,
        tags=["terminal"],
        operation_id="getTerminal",
    )
    def terminal_status(terminal: Signed) -> TerminalStatus:
        """What the host holds of this terminal: where its contiguous chain ends."""
        with read_transaction(gateway.factory) as session:
            row = session.get_one(Terminal, terminal.key.terminal_id)
            return TerminalStatus(
                terminal_id=row.id,
                shop_id=row.shop_id,
                certificate=b64encode(row.certificate),
                contiguous_seq=row.contiguous_seq,
                last_hash=None if row.last_hash is None else row.last_hash.hex(),
                host_time=gateway.clock(),
            )

    return app


async def _flush_refusals(gateway: Gateway) -> None:
    """Every FLUSH_EVERY seconds, the refusals counted in memory become summary events."""
    while True:
        await asyncio.sleep(FLUSH_EVERY)
        await run_in_threadpool(_flush_once, gateway)


def _flush_once(gateway: Gateway) -> None:
    try:
        gateway.refusals.flush(gateway.factory, gateway.clock())
    except OperationalError as exc:  # busy: the counts wait for the next flush
        log.warning("refusal summary postponed: %s", exc.orig)


def _updates(
    gateway: Gateway, terminal: TerminalContext, held: dict[str, int], seq: int | None
) -> UpdatesResponse:
    now = gateway.clock()
    with transaction(gateway.factory) as session:
        documents: dict[str, DocumentBody | None] = {}
        for kind in (CATALOG_KIND, CONFIG_KIND):
            latest = distribution.latest_document(session, kind)
            fresh = latest is not None and latest[0] > held[kind]
            documents[kind] = (
                DocumentBody(version=latest[0], document=b64encode(latest[1]))
                if fresh and latest is not None
                else None
            )
        gateway.renew_block_orders(session, now)
        version = distribution.hotlist_version(session)
        hotlist = HotlistBody(version=version, document=None)
        if version > held[HOTLIST_KIND]:
            doc = distribution.hotlist_delta(session, gateway.keys, held[HOTLIST_KIND], now)
            hotlist = HotlistBody(version=version, document=b64encode(doc.encode()))
        if version:
            distribution.note_hotlist_fetch(session, terminal.key.terminal_id, version, seq, now)
        terminal_id = terminal.key.terminal_id
        delta = distribution.loads_delta(session, terminal_id, held[LOADS_KIND])
        loads = LoadsBody(
            version=delta.version,
            pending=[
                LoadBody(
                    card_number=load.card_number,
                    load_seq=load.load_seq,
                    authorization=b64encode(load.authorization),
                )
                for load in delta.pending
            ],
            applied=[
                LoadBody(card_number=load.card_number, load_seq=load.load_seq, authorization=None)
                for load in delta.applied
            ],
            more=delta.more,
        )
        wanted = [
            WantedBody(card_number=w.card_number, counters=w.counters)
            for w in gaps.wanted(session, terminal_id=terminal_id)
        ]
        resolutions = [
            ResolutionBody(
                intent_id=r.intent_id,
                card_message=None if r.card_message is None else b64encode(r.card_message),
                settled_at_host=r.settled_at_host,
            )
            for r in intents.resolutions(session, terminal_id)
        ]
        unblocks = pin_unblocks.open_orders_for(session, terminal_id, business_date(now))
    return UpdatesResponse(
        host_time=now,
        catalog=documents[CATALOG_KIND],
        config=documents[CONFIG_KIND],
        hotlist=hotlist,
        loads=loads,
        wanted=wanted,
        resolutions=resolutions,
        pin_unblocks=[b64encode(order) for order in unblocks],
    )
