"""Request and response bodies of the terminal API (they make the OpenAPI document).

Binary values travel as unpadded base64url text; money is integer rupiah; times are unix seconds.
"""

from __future__ import annotations

import uuid
from typing import Annotated

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


class UpdatesResponse(Strict):
    host_time: int
    catalog: DocumentBody | None
    config: DocumentBody | None
    hotlist: HotlistBody
    loads: LoadsBody


class TerminalStatus(Strict):
    terminal_id: str
    shop_id: str
    certificate: str
    contiguous_seq: int
    last_hash: str | None
    host_time: int
