"""ISO 20022 schemas shipped in ``schemas/`` (SWIFTStandards-generated, unmodified) and the one
way files are checked against them: parsed without entities, validated by libxml2 (lxml)."""

from __future__ import annotations

import functools
from importlib import resources

from lxml import etree

from host_gateway.errors import GatewayError

PAIN001 = "pain.001.001.03"
CAMT053 = "camt.053.001.02"


@functools.cache
def schema(message: str) -> etree.XMLSchema:
    path = resources.files("host_gateway.settlement") / "schemas" / f"{message}.xsd"
    return etree.XMLSchema(etree.fromstring(path.read_bytes()))


def parse_valid(data: bytes, message: str) -> etree._Element:
    """The document, or a GatewayError naming what is wrong with it (R2: nothing changes)."""
    try:
        document = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise GatewayError("invalid_file", f"not well-formed XML: {exc}") from exc
    try:
        schema(message).assertValid(document)
    except etree.DocumentInvalid as exc:
        raise GatewayError("invalid_file", f"not a valid {message}: {exc}") from exc
    return document
