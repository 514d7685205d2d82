"""Request and response bodies of the terminal API (they make the OpenAPI document).

Binary values travel as unpadded base64url text; money is integer rupiah; times are unix seconds.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

B64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]*$", max_length=1_400_000)]
Version = Annotated[int, Field(ge=0, le=2**62)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Strict):
    code: str
    message: str
    host_time: int


class ErrorBody(Strict):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "the body is not JSON"),
        (401, "not authenticated: bad or missing signature, clock skew, replayed request"),
        (403, "refused: revoked terminal, expired certificate, unusable enrollment code"),
        (404, "no such card"),
        (409, "conflict with what the host holds"),
        (413, "the request body is over the size limit"),
        (422, "the request does not follow the schema"),
    )
}
"""The error answers every route may give, for the OpenAPI document."""


class TimeBody(Strict):
    host_time: int


class Health(Strict):
    status: str
    host_time: int


class EnrollRequest(Strict):
    code: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")]
    public_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]
    proof: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{86}$")]
    """Signature by the new key over the code and the key (ledger.request_auth.enrollment_proof)."""


class KeyBody(Strict):
    key_id: str
    public_key: str


class Anchors(Strict):
    ca: list[KeyBody]
    authority: list[KeyBody]


class ShopBody(Strict):
    id: str
    name: str
    kind: str


class EnrollResponse(Strict):
    terminal_id: str
    certificate: str
    shop: ShopBody
    anchors: Anchors
    config: str | None
    host_time: int


class RecordUpload(Strict):
    id: uuid.UUID
    data: B64


class IngestRequest(Strict):
    records: Annotated[list[RecordUpload], Field(min_length=1, max_length=1000)]


class RecordResultBody(Strict):
    id: str
    seq: int | None
    status: str
    code: str
    message: str
    stored: bool
    duplicate: bool


class IngestResponse(Strict):
    terminal_id: str
    host_time: int
    results: list[RecordResultBody]
    accepted: int
    rejected: int
    duplicates: int
    conflicts: int
    deferred: int
    contiguous_seq: int
    last_seq: int
    gaps: list[tuple[int, int]]


class DocumentBody(Strict):
    version: int
    document: str


class HotlistBody(Strict):
    version: int
    document: str | None


class LoadBody(Strict):
    card_number: str
    load_seq: int
    authorization: str | None


class LoadsBody(Strict):
    version: int
    pending: list[LoadBody]
    applied: list[LoadBody]
    more: bool


class WantedBody(Strict):
    card_number: str
    counters: list[int]


class ResolutionBody(Strict):
    intent_id: str
    card_message: str | None
    """The card-signed message the host holds at the intent's counter (base64url)."""
    settled_at_host: bool
    """An operator settled the intent at the host: the terminal closes it as settled."""


class UpdatesResponse(Strict):
    host_time: int
    catalog: DocumentBody | None
    config: DocumentBody | None
    hotlist: HotlistBody
    loads: LoadsBody
    wanted: list[WantedBody]
    """Counters the host misses of cards this terminal served: read them from the card's log
    when it is presented and send them to POST /v1/evidence."""
    resolutions: list[ResolutionBody]


CardNumber = Annotated[str, Field(pattern=r"^[0-9]{16}$")]
PurseCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{4}$")]
Message = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=400)]


class EvidenceRequest(Strict):
    messages: Annotated[list[Message], Field(min_length=1, max_length=64)]
    """Card-signed messages read from a card's log (DebitProof, VoidProof, LoadReceipt)."""


class EvidenceResultBody(Strict):
    result: Literal["stored", "known", "refused"]
    code: str
    message: str
    card_number: str | None
    counter: int | None


class EvidenceResponse(Strict):
    host_time: int
    results: list[EvidenceResultBody]


class CardStatusResponse(Strict):
    card_number: str
    wanted_counters: list[int]
    pending_loads: list[str]
    """Issuer-signed LoadAuthorizations for this card no receipt has closed (base64url)."""
    host_time: int


class IntentBody(Strict):
    intent_id: uuid.UUID
    card_number: CardNumber
    kind: Literal["sale", "void", "load"]
    nonce: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{22}$")]
    """The 16-byte nonce of the card request (base64url)."""
    expected_counter: Annotated[int, Field(ge=1, le=2**32 - 1)]
    amounts: Annotated[
        dict[PurseCode, Annotated[int, Field(ge=0, le=2**32 - 1)]], Field(max_length=4)
    ] = {}
    """What the request asked per purse (a sale's debit amounts)."""


class IntentsRequest(Strict):
    intents: Annotated[list[IntentBody], Field(max_length=100)] = []
    closed: Annotated[list[uuid.UUID], Field(max_length=100)] = []
    """Intents the terminal resolved since: the host stops answering them."""


class IntentResultBody(Strict):
    intent_id: str
    result: Literal["stored", "known", "refused"]
    code: str
    message: str


class IntentsResponse(Strict):
    host_time: int
    results: list[IntentResultBody]


class TerminalStatus(Strict):
    terminal_id: str
    shop_id: str
    certificate: str
    contiguous_seq: int
    last_hash: str | None
    host_time: int
