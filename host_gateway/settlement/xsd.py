"""ISO 20022 schemas shipped in ``schemas/`` (SWIFTStandards-generated, unmodified) and the one
way bank files are parsed: no DTD (so no entity, internal or external), no network, no huge
trees, then validated by libxml2 (lxml) where the schema is shipped."""

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


def parse(data: bytes) -> etree._Element:
    """The document's root, or a GatewayError. A bank file never carries a DOCTYPE: one is refused
    outright, so neither an external entity (XXE) nor an entity expansion reaches the reader."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        document = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise GatewayError("invalid_file", f"not well-formed XML: {exc}") from exc
    if getattr(document.getroottree().docinfo, "doctype", ""):  # the stub's DocInfo lacks it
        raise GatewayError("invalid_file", "a DOCTYPE (DTD or entities) is not allowed")
    return document


def parse_valid(data: bytes, message: str) -> etree._Element:
    """The document, or a GatewayError naming what is wrong with it (R2: nothing changes)."""
    document = parse(data)
    try:
        schema(message).assertValid(document)
    except etree.DocumentInvalid as exc:
        raise GatewayError("invalid_file", f"not a valid {message}: {exc}") from exc
    return document
