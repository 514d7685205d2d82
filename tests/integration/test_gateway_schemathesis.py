"""schemathesis against the gateway's own OpenAPI document, on a real server: no 5xx, every
schema-invalid request refused, every response as documented. Requests are signed by an enrolled
terminal so the authenticated operations are exercised past authentication."""

from __future__ import annotations

import time

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.request_auth import sign_request
from tests.factories import FakeTerminal
from tests.fixtures.gateway import Served


def no_record_accepted(ctx: CheckContext, response: Response, case: schemathesis.Case) -> None:
    """Generated records carry no genuine terminal and card signatures: none may be accepted."""
    if case.path == "/v1/records" and response.status_code == 200:
        statuses = {result["status"] for result in response.json()["results"]}
        assert "accepted" not in statuses, f"a generated record was accepted: {response.text}"


CHECKS = [
    not_a_server_error,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    no_record_accepted,
]


class TerminalAuth(requests.auth.AuthBase):
    def __init__(self, terminal: FakeTerminal) -> None:
        self.terminal = terminal

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        headers = sign_request(
            self.terminal.key,
            self.terminal.terminal_id,
            str(request.method),
            request.path_url,
            raw,
            int(time.time()),
        )
        request.headers.update(headers)
        return request


def _operations(base_url: str) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_api_conforms(served: Served) -> None:
    """On SQLite and on the real PostgreSQL server (database errors must not become 5xx)."""
    base_url, auth = served.server.base_url, TerminalAuth(served.world.terminal)
    operations = _operations(base_url)
    assert {op.path for op in operations} >= {"/v1/records", "/v1/enroll", "/v1/updates"}
    for operation in operations:
        for mode in GenerationMode:
            if mode is GenerationMode.NEGATIVE and not (
                len(operation.query) or len(operation.body)
            ):
                continue  # nothing to send that could be invalid

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=80,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def exercise(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=base_url, checks=CHECKS, auth=auth)

            exercise()


def test_api_walks_its_links_statefully(served: Served) -> None:
    """The OpenAPI links (upload → updates, updates → card, ...) let schemathesis chain calls as
    a terminal does, each signed: no 5xx, every answer as documented along the way."""
    base_url, auth = served.server.base_url, TerminalAuth(served.world.terminal)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    machine = schema.as_state_machine()
    assert machine.bundles, "the schema's links gave the state machine nothing to chain"

    class Terminal(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"auth": auth, "base_url": base_url}

        def validate_response(  # type: ignore[override]
            self, response: Response, case: schemathesis.Case, **kwargs: object
        ) -> None:
            case.validate_response(response, checks=CHECKS)

    Terminal.run(
        settings=settings(
            max_examples=30,
            stateful_step_count=5,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
