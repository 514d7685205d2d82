"""The terminal API's card routes: what the host misses of a card and what it can settle.

``POST /v1/evidence`` takes card messages read from a card's log, ``GET /v1/cards/{number}``
tells a terminal (online, with the card presented) which counters to read, the card's pending
loads and its open PIN-unblock order, ``POST /v1/intents`` takes the terminal's unresolved
intents. All signed like every terminal request; docs/api.md documents them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path, Query
from starlette.concurrency import run_in_threadpool

from host_gateway import distribution, gaps, intents, pin_unblocks
from host_gateway.api import links
from host_gateway.api.limits import Signed
from host_gateway.api.schemas import ERRORS as _ERRORS
from host_gateway.db import transaction
from host_gateway.errors import GatewayError, not_found
from host_gateway.evidence import EvidenceIntake
from host_gateway.gateway import Gateway
from host_gateway.ingest import TerminalContext
from host_gateway.models import Card
from host_gateway.programs import terms
from ledger.binary import FormatError
from ledger.request_auth import b64decode, b64encode
from ledger.verify import business_date
from ledger.wire import (
    CardStatusResponse,
    EvidenceRequest,
    EvidenceResponse,
    EvidenceResultBody,
    IntentResultBody,
    IntentsRequest,
    IntentsResponse,
)


def add_card_routes(app: FastAPI, gateway: Gateway) -> None:
    @app.post(
        "/v1/evidence",
        response_model=EvidenceResponse,
        responses=_ERRORS | links.EVIDENCE,
        tags=["terminal"],
        operation_id="sendEvidence",
    )
    async def evidence(terminal: Signed, body: EvidenceRequest) -> EvidenceResponse:
        """Card-signed messages read from a card's log; one result each, idempotent."""
        messages = [_bytes_or_none(text) for text in body.messages]
        return await run_in_threadpool(_evidence, gateway, terminal, messages)

    @app.get(
        "/v1/cards/{number}",
        response_model=CardStatusResponse,
        responses=_ERRORS,
        tags=["terminal"],
        operation_id="getCard",
    )
    async def card_status(
        terminal: Signed,
        number: Annotated[str, Path(pattern=r"^[0-9]{16}$")],
        counter: Annotated[int | None, Query(ge=0, le=0xFFFF_FFFF)] = None,
    ) -> CardStatusResponse:
        """For a card presented at an online terminal: counters to read from its log (those in
        its gaps, and those above the last the host holds up to ``counter``, what the card
        says now), its pending loads. The terminal counts as having served the card from then
        on."""
        return await run_in_threadpool(_card_status, gateway, terminal, number, counter)

    @app.post(
        "/v1/intents",
        response_model=IntentsResponse,
        responses=_ERRORS,
        tags=["terminal"],
        operation_id="reportIntents",
    )
    async def report_intents(terminal: Signed, body: IntentsRequest) -> IntentsResponse:
        """The terminal's unresolved intents (and those it resolved since); idempotent."""
        reported = []
        for number, item in enumerate(body.intents):
            nonce = _bytes(item.nonce, f"intents.{number}.nonce")
            reported.append(
                intents.Reported(
                    item.intent_id,
                    item.card_number,
                    item.kind,
                    nonce,
                    item.expected_counter,
                    dict(item.amounts),
                )
            )
        return await run_in_threadpool(_intents, gateway, terminal, reported, body.closed)


def _bytes(text: str, where: str) -> bytes:
    try:
        return b64decode(text)
    except FormatError as exc:
        raise GatewayError("invalid_request", f"{where}: {exc}", 422) from exc


def _bytes_or_none(text: str) -> bytes | None:
    try:
        return b64decode(text)
    except FormatError:
        return None


def _evidence(
    gateway: Gateway, terminal: TerminalContext, messages: list[bytes | None]
) -> EvidenceResponse:
    """Messages are independent: one that is not base64url is refused alone (``malformed``)."""
    now = gateway.clock()
    with transaction(gateway.factory) as session:
        intake = EvidenceIntake(session, gateway.keys, terminal.key.terminal_id, now)
        decided = iter(intake.submit([m for m in messages if m is not None]))
    results = [
        EvidenceResultBody(**next(decided).__dict__)
        if message is not None
        else EvidenceResultBody(
            result="refused",
            code="malformed",
            message="not base64url",
            card_number=None,
            counter=None,
        )
        for message in messages
    ]
    return EvidenceResponse(host_time=gateway.clock(), results=results)


def _card_status(
    gateway: Gateway, terminal: TerminalContext, number: str, counter: int | None = None
) -> CardStatusResponse:
    with transaction(gateway.factory) as session:
        if session.get(Card, number) is None:
            raise not_found(f"card {number}")
        distribution.note_served(session, terminal.key.terminal_id, [number])
        wanted = gaps.wanted(session, card=number, shown=counter)
        loads = distribution.pending_loads_of(session, number)
        today = business_date(gateway.clock())
        return CardStatusResponse(
            card_number=number,
            wanted_counters=wanted[0].counters if wanted else [],
            pending_loads=[b64encode(load.authorization) for load in loads],
            host_time=gateway.clock(),
            next_aid=terms.next_aid_dates(session, number, today),
            pin_unblocks=[
                b64encode(order) for order in pin_unblocks.open_orders_of(session, number, today)
            ],
        )


def _intents(
    gateway: Gateway,
    terminal: TerminalContext,
    reported: list[intents.Reported],
    closed: list[Any],
) -> IntentsResponse:
    with transaction(gateway.factory) as session:
        results = intents.report(
            session, terminal.key.terminal_id, reported, closed, gateway.clock()
        )
    return IntentsResponse(
        host_time=gateway.clock(),
        results=[IntentResultBody(**r.__dict__) for r in results],
    )
