"""OpenAPI links: which answer feeds which next request, so a stateful fuzzer (schemathesis)
can walk the API the way a terminal does: enroll, upload, download, ask for a card."""

from __future__ import annotations

from typing import Any


def _ok(links: dict[str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    return {200: {"links": links}}


_TERMINAL = {"operationId": "getTerminal", "description": "where the host's copy ends"}

ENROLL = _ok(
    {
        "GetTerminal": _TERMINAL,
        "GetUpdates": {"operationId": "getUpdates", "description": "the first download"},
    }
)
RECORDS = _ok(
    {
        "GetUpdates": {
            "operationId": "getUpdates",
            "parameters": {"seq": "$response.body#/last_seq"},
            "description": "download after the upload, with the last seq the host holds",
        },
        "GetTerminal": _TERMINAL,
    }
)
UPDATES = _ok(
    {
        "GetWantedCard": {
            "operationId": "getCard",
            "parameters": {"number": "$response.body#/wanted/0/card_number"},
            "description": "a card whose counters the host misses",
        },
    }
)
EVIDENCE = _ok(
    {
        "GetCard": {
            "operationId": "getCard",
            "parameters": {"number": "$response.body#/results/0/card_number"},
            "description": "the card the first message was of",
        },
    }
)
