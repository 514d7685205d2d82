"""The wire contract between terminal and host: document kinds and the JSON bodies both sides
exchange, written once so that the host (host_gateway.api) and the terminal's sync client
(terminal.sync) cannot drift apart. docs/api.md describes each endpoint.

Binary values travel as unpadded base64url text (they stay strings here; each side decodes
them where it uses them); money is integer rupiah; times are unix seconds. Requests refuse
unknown fields (the host validates them); answers ignore fields this side does not know, so a
newer host can add one without breaking older terminals, while their published schema still
lists exactly what this host sends.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

CATALOG_KIND: Final = "catalog"
CONFIG_KIND: Final = "config"
HOTLIST_KIND: Final = "hotlist"
LOADS_KIND: Final = "loads"
DOCUMENT_KINDS: Final = (CATALOG_KIND, CONFIG_KIND, HOTLIST_KIND, LOADS_KIND)
"""What ``GET /v1/updates`` distributes; each is a query parameter (the version held) and a key
of the answer. The terminal stores each under the same name."""

B64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]*$", max_length=1_400_000)]
CardNumber = Annotated[str, Field(pattern=r"^[0-9]{16}$")]
PurseCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{4}$")]
Message = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=400)]


class Strict(BaseModel):
    """A body the receiver refuses when it carries a field it does not know."""

    model_config = ConfigDict(extra="forbid")


class Answer(BaseModel):
    """A host answer: unknown fields are ignored by the reader, none are sent by this host."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class ErrorDetail(Answer):
    code: str
    message: str
    host_time: int


class ErrorBody(Answer):
    error: ErrorDetail


class EnrollRequest(Strict):
    code: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")]
    public_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]
    proof: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{86}$")]
    """Signature by the new key over the code and the key (ledger.request_auth.enrollment_proof)."""


class KeyBody(Answer):
    key_id: str
    public_key: str


class Anchors(Answer):
    ca: list[KeyBody]
    authority: list[KeyBody]


class ShopBody(Answer):
    id: str
    name: str
    kind: str


class EnrollResponse(Answer):
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


class RecordResultBody(Answer):
    id: str
    seq: int | None
    status: str
    code: str
    message: str
    stored: bool
    duplicate: bool


class IngestResponse(Answer):
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


class DocumentBody(Answer):
    version: int
    document: str


class HotlistBody(Answer):
    version: int
    document: str | None


class LoadBody(Answer):
    card_number: str
    load_seq: int
    authorization: str | None


class LoadsBody(Answer):
    version: int
    pending: list[LoadBody]
    applied: list[LoadBody]
    more: bool


class WantedBody(Answer):
    card_number: str
    counters: list[int]


class ResolutionBody(Answer):
    intent_id: str
    card_message: str | None
    """The card-signed message the host holds at the intent's counter (base64url)."""
    settled_at_host: bool
    """An operator settled the intent at the host: the terminal closes it as settled."""


class UpdatesResponse(Answer):
    host_time: int
    catalog: DocumentBody | None
    config: DocumentBody | None
    hotlist: HotlistBody
    loads: LoadsBody
    wanted: list[WantedBody]
    """Counters the host misses of cards this terminal served: read them from the card's log
    when it is presented and send them to POST /v1/evidence."""
    resolutions: list[ResolutionBody]
    pin_unblocks: list[str] = Field(default_factory=list)
    """Issuer-signed PinUnblockOrders (base64url) no card receipt has closed, of the cards this
    terminal served: the whole list each time (they are few). Absent from older hosts."""


class EvidenceRequest(Strict):
    messages: Annotated[list[Message], Field(min_length=1, max_length=64)]
    """Card-signed messages read from a card's log (DebitProof, VoidProof, LoadReceipt)."""


class EvidenceResultBody(Answer):
    result: Literal["stored", "known", "refused"]
    code: str
    message: str
    card_number: str | None
    counter: int | None


class EvidenceResponse(Answer):
    host_time: int
    results: list[EvidenceResultBody]


class CardStatusResponse(Answer):
    card_number: str
    wanted_counters: list[int]
    pending_loads: list[str]
    """Issuer-signed LoadAuthorizations for this card no receipt has closed (base64url)."""
    host_time: int
    pin_unblocks: list[str] = Field(default_factory=list)
    """Issuer-signed PinUnblockOrders for this card no receipt has closed (base64url)."""
    next_aid: dict[str, str] = Field(default_factory=dict)
    """Per purse whose program has a schedule: the next day its aid is loaded (YYYY-MM-DD,
    WITA), for the balance slip and the receipt. Absent from hosts before it existed."""


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


class IntentResultBody(Answer):
    intent_id: str
    result: Literal["stored", "known", "refused"]
    code: str
    message: str


class IntentsResponse(Answer):
    host_time: int
    results: list[IntentResultBody]
