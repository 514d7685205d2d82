"""The terminal's HTTP client of the gateway: signed requests with retries, every request built
and every answer checked through the ledger.wire models, so an answer that does not follow the
contract is one :class:`SyncError` (``bad_answer``) before anything is stored. Also enrollment
(``POST /v1/enroll``) and the one-card lookup the sale engine asks through its port.

On the wire: records, loads and hotlists are signed but not secret-proof in clear, so the
terminal speaks HTTPS and trusts only the CA pinned at enrollment (``gateway_ca``, PEM), never
the system's list; plain ``http://`` is refused except to this machine (loopback: the demo).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from ledger.binary import FormatError
from ledger.crypto import SigningKey
from ledger.request_auth import b64decode, b64encode, enrollment_proof, sign_request
from ledger.wire import (
    CardStatusResponse,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    EvidenceRequest,
    EvidenceResponse,
    IngestRequest,
    IngestResponse,
    IntentBody,
    IntentsRequest,
    IntentsResponse,
    RecordUpload,
    UpdatesResponse,
)
from terminal.backoff import Backoff
from terminal.host_requests import AskHost, HostCard, intent_amounts
from terminal.journal import Intent, Outgoing

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class SyncError(Exception):
    """A sync cycle that could not finish; the outbox is intact. ``code`` is the host's code."""

    def __init__(self, message: str, code: str = "unreachable") -> None:
        super().__init__(message)
        self.code = code


AnswerModel = TypeVar("AnswerModel", bound=BaseModel)


def gateway_trust(base_url: str, ca_pem: str | None) -> ssl.SSLContext | bool:
    """How to trust the gateway at ``base_url``: for https, a context that accepts only
    certificates of the pinned CA (host name checked); plain http only to loopback. Anything
    else is a SyncError ``insecure_gateway`` before a byte is sent."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        if not ca_pem:
            raise SyncError(
                "no CA is pinned for this https gateway: enroll with --gateway-ca",
                "insecure_gateway",
            )
        try:
            return ssl.create_default_context(cadata=ca_pem)  # this CA only, no system CAs
        except (ssl.SSLError, ValueError) as exc:
            raise SyncError(
                f"the pinned gateway CA is unusable: {exc}", "insecure_gateway"
            ) from exc
    if parts.scheme == "http" and _loopback(parts.hostname or ""):
        return True
    raise SyncError(
        f"refusing {base_url}: records and loads must not cross the network in clear; "
        "use https:// (plain http:// only to this machine)",
        "insecure_gateway",
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_answer(model: type[AnswerModel], value: Any, what: str) -> AnswerModel:
    """The host's answer as ``model``, or one clear SyncError naming the first field that is
    wrong: nothing downstream has to guess at a missing key or a wrong type."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        raise SyncError(
            f"the host's answer to {what} does not follow the contract: {where}: {first['msg']}",
            "bad_answer",
        ) from exc


def _request(build: Callable[[], BaseModel]) -> BaseModel:
    """A request body built through its model, so the terminal never sends what the host would
    refuse with 422 anyway; a body that does not fit is the same ``invalid_request``."""
    try:
        return build()
    except ValidationError as exc:
        raise SyncError(f"request not sent: {exc.errors()[0]['msg']}", "invalid_request") from exc


class GatewayClient:
    """Signed HTTP to the gateway for one terminal."""

    def __init__(
        self,
        base_url: str,
        terminal_id: str,
        key: SigningKey,
        *,
        timeout: float = 15.0,
        backoff: Backoff | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        ca_pem: str | None = None,
    ) -> None:
        """``ca_pem``: the gateway CA pinned at enrollment. A ``transport`` given (tests) is
        used as it is, without the network policy of :func:`gateway_trust`."""
        self.terminal_id, self.key, self.clock = terminal_id, key, clock
        self.backoff = backoff or Backoff()
        verify = True if transport is not None else gateway_trust(base_url, ca_pem)
        self.http = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, verify=verify
        )
        self.host_time: int | None = None

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, payload: BaseModel | None = None) -> dict[str, Any]:
        """One signed request, retried on transport errors and 5xx; refusals raise SyncError."""
        body = b"" if payload is None else _json(payload)
        last = "no attempt"
        for attempt in range(self.backoff.attempts):
            if attempt:
                self.backoff.sleep(self.backoff.delay(attempt - 1))
            headers = sign_request(
                self.key, self.terminal_id, method, path, body, int(self.clock())
            )
            if payload is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self.http.request(method, path, content=body, headers=headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRYABLE_STATUS:
                last = f"host answered {response.status_code}"
                continue
            return self._answer(response)
        raise SyncError(f"host not reachable after {self.backoff.attempts} attempts ({last})")

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            value = response.json()
        except ValueError as exc:
            raise SyncError(f"host answered {response.status_code} without JSON") from exc
        if isinstance(value, dict) and isinstance(value.get("host_time"), int):
            self.host_time = value["host_time"]
        if response.status_code != 200:
            raise _refusal(response, value, "host refused")
        if not isinstance(value, dict):
            raise SyncError("host answered something that is not an object", "bad_answer")
        return value

    def upload(self, records: list[Outgoing]) -> IngestResponse:
        payload = _request(
            lambda: IngestRequest(
                records=[RecordUpload(id=r.id, data=b64encode(r.encoded)) for r in records]
            )
        )
        return read_answer(IngestResponse, self.call("POST", "/v1/records", payload), "records")

    def evidence(self, messages: list[bytes]) -> EvidenceResponse:
        payload = _request(lambda: EvidenceRequest(messages=[b64encode(m) for m in messages]))
        answer = self.call("POST", "/v1/evidence", payload)
        return read_answer(EvidenceResponse, answer, "evidence")

    def report_intents(self, stuck: list[Intent], closed: list[uuid.UUID]) -> IntentsResponse:
        def build() -> IntentsRequest:
            rows = [
                IntentBody(
                    intent_id=i.id,
                    card_number=i.card_number,
                    kind=str(i.kind),  # type: ignore[arg-type]  # the model checks it
                    nonce=b64encode(i.nonce),
                    expected_counter=i.expected_counter,
                    amounts=intent_amounts(str(i.kind), i.request),
                )
                for i in stuck
            ]
            return IntentsRequest(intents=rows, closed=closed)

        answer = self.call("POST", "/v1/intents", _request(build))
        return read_answer(IntentsResponse, answer, "intents")

    def updates(self, held: dict[str, int], seq: int) -> UpdatesResponse:
        query = "&".join(f"{name}={held[name]}" for name in sorted(held))
        answer = self.call("GET", f"/v1/updates?{query}&seq={seq}")
        return read_answer(UpdatesResponse, answer, "updates")

    def reachable(self) -> bool:
        """Whether the gateway answers its health check now (diagnostics)."""
        try:
            return self.http.get("/v1/health", timeout=3.0).status_code == 200
        except httpx.HTTPError:
            return False

    def card(self, card_number: str, counter: int | None = None) -> CardStatusResponse:
        """``counter``: what the presented card says; the host asks for what it lacks below."""
        query = "" if counter is None else f"?counter={counter}"
        answer = self.call("GET", f"/v1/cards/{card_number}{query}")
        return read_answer(CardStatusResponse, answer, "cards")


def _json(payload: BaseModel) -> bytes:
    """The body as the host reads it: compact JSON, fields in the model's order."""
    return json.dumps(payload.model_dump(mode="json"), separators=(",", ":")).encode()


def _refusal(response: httpx.Response, value: Any, prefix: str) -> SyncError:
    """The host's error answer (``{"error": {code, message, host_time}}``) as a SyncError with its
    code; an error body out of contract still refuses, as ``refused`` with the raw text."""
    try:
        error = ErrorBody.model_validate(value).error
    except ValidationError:
        return SyncError(f"{prefix}: {response.text}", "refused")
    return SyncError(f"{prefix}: {error.message}", error.code)


def card_lookup(client: GatewayClient) -> AskHost:
    """The sale engine's port to the host for one presented card (``GET /v1/cards/N``): one
    attempt, short timeout; any failure is None and the sale goes on from what is held."""

    def ask(card_number: str, counter: int) -> HostCard | None:
        try:
            answer = client.card(card_number, counter)
            aid = sorted(answer.next_aid.items())
            return HostCard(
                pending_loads=tuple(b64decode(raw) for raw in answer.pending_loads),
                wanted_counters=tuple(answer.wanted_counters),
                next_aid=tuple((code, dt.date.fromisoformat(due)) for code, due in aid),
                pin_unblocks=tuple(b64decode(raw) for raw in answer.pin_unblocks),
            )
        except (SyncError, FormatError, ValueError):
            return None

    return ask


def enroll(
    base_url: str, code: str, key: SigningKey, timeout: float = 15.0, ca_pem: str | None = None
) -> EnrollResponse:
    """Exchange a one-time code for a certificate (retrying is safe: same code, same key).
    ``ca_pem`` is the gateway CA the operator pins now; the code never crosses in clear."""
    verify = gateway_trust(base_url, ca_pem)
    body = _request(
        lambda: EnrollRequest(
            code=code,
            public_key=b64encode(key.public_key),
            proof=b64encode(enrollment_proof(key, code)),
        )
    )
    try:
        response = httpx.post(
            f"{base_url.rstrip('/')}/v1/enroll",
            content=_json(body),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
            verify=verify,
        )
    except httpx.TransportError as exc:
        raise SyncError(f"cannot reach the gateway at {base_url}: {exc}") from exc
    try:
        value = response.json()
    except ValueError as exc:
        raise SyncError(f"gateway answered {response.status_code} without JSON") from exc
    if response.status_code != 200:
        raise _refusal(response, value, "enrollment refused")
    return read_answer(EnrollResponse, value, "enroll")
