"""Reading the bank's answers: a ``pain.002.001.03`` payment status report and a
``camt.053.001.02`` statement of the giro account, parsed with lxml. The statement is validated
against its official schema; the status report (whose schema is not shipped) is read by
namespace and path. Anything missing or malformed is one clear error and the file changes
nothing (R2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lxml import etree

from host_gateway.errors import GatewayError
from host_gateway.settlement import xsd

PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
STATUSES = ("ACSC", "ACCP", "ACSP", "ACTC", "PDNG", "RJCT")


@dataclass(frozen=True)
class TxStatus:
    end_to_end_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class StatusReport:
    message_id: str
    original_message_id: str
    statuses: tuple[TxStatus, ...]


@dataclass(frozen=True)
class StatementEntry:
    amount: int
    """Signed: a credit to the giro account positive, a debit negative."""
    reference: str
    booked: bool


@dataclass(frozen=True)
class Statement:
    statement_id: str
    account: str
    opening: int
    closing: int
    entries: tuple[StatementEntry, ...]
    digest: bytes
    """SHA-256 of the statement itself (canonical XML): a resend under another message id has
    the same digest; a different statement under the same id does not."""


def _root(data: bytes, namespace: str, what: str) -> etree._Element:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise _bad(what, f"not well-formed XML: {exc}") from exc
    if root.tag != f"{{{namespace}}}Document":
        raise _bad(what, f"the document is {root.tag}, not {namespace}")
    return root


def _bad(what: str, why: str) -> GatewayError:
    return GatewayError("invalid_file", f"not a readable {what}: {why}")


def _text(node: etree._Element, path: str, ns: dict[str, str], what: str) -> str:
    value = node.findtext(path, namespaces=ns)
    if value is None or not value.strip():
        raise _bad(what, f"{path.replace('b:', '')} is missing")
    return value.strip()


def _rupiah(text: str, what: str) -> int:
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or (fraction and set(fraction) != {"0"}):
        raise _bad(what, f"{text!r} is not an amount of whole rupiah")
    return int(whole)


def read_pain002(data: bytes) -> StatusReport:
    what = "pain.002 status report"
    ns = {"b": PAIN002}
    report = _root(data, PAIN002, what).find("b:CstmrPmtStsRpt", ns)
    if report is None:
        raise _bad(what, "CstmrPmtStsRpt is missing")
    statuses = []
    for tx in report.iterfind("b:OrgnlPmtInfAndSts/b:TxInfAndSts", ns):
        status = _text(tx, "b:TxSts", ns, what)
        if status not in STATUSES:
            raise _bad(what, f"unknown transaction status {status!r}")
        reason = tx.findtext("b:StsRsnInf/b:Rsn/b:Cd", namespaces=ns) or ""
        info = tx.findtext("b:StsRsnInf/b:AddtlInf", namespaces=ns) or ""
        statuses.append(
            TxStatus(
                _text(tx, "b:OrgnlEndToEndId", ns, what),
                status,
                f"{reason} {info}".strip(),
            )
        )
    return StatusReport(
        _text(report, "b:GrpHdr/b:MsgId", ns, what),
        _text(report, "b:OrgnlGrpInfAndSts/b:OrgnlMsgId", ns, what),
        tuple(statuses),
    )


def read_camt053(data: bytes) -> Statement:
    what = "camt.053 statement"
    ns = {"b": CAMT053}
    statements = xsd.parse_valid(data, xsd.CAMT053).findall("b:BkToCstmrStmt/b:Stmt", ns)
    if len(statements) != 1:
        raise _bad(what, f"{len(statements)} statements in the file; one is expected")
    [stmt] = statements
    balances = {}
    for balance in stmt.iterfind("b:Bal", ns):
        code = _text(balance, "b:Tp/b:CdOrPrtry/b:Cd", ns, what)
        balances[code] = _signed(balance, ns, what)
    if "OPBD" not in balances or "CLBD" not in balances:
        raise _bad(what, "the opening (OPBD) and closing (CLBD) balances are required")
    entries = tuple(
        StatementEntry(
            _signed(entry, ns, what),
            entry.findtext("b:NtryDtls/b:TxDtls/b:Refs/b:EndToEndId", namespaces=ns) or "",
            _text(entry, "b:Sts", ns, what) == "BOOK",
        )
        for entry in stmt.iterfind("b:Ntry", ns)
    )
    moved = sum(e.amount for e in entries if e.booked)
    if balances["OPBD"] + moved != balances["CLBD"]:
        raise _bad(what, "the booked entries do not lead from the opening to the closing balance")
    return Statement(
        _text(stmt, "b:Id", ns, what),
        _text(stmt, "b:Acct/b:Id/b:Othr/b:Id", ns, what),
        balances["OPBD"],
        balances["CLBD"],
        entries,
        hashlib.sha256(etree.tostring(stmt, method="c14n")).digest(),
    )


def _signed(node: etree._Element, ns: dict[str, str], what: str) -> int:
    value = _rupiah(_text(node, "b:Amt", ns, what), what)
    sign = _text(node, "b:CdtDbtInd", ns, what)
    if sign not in ("CRDT", "DBIT"):
        raise _bad(what, f"CdtDbtInd {sign!r} is neither CRDT nor DBIT")
    return value if sign == "CRDT" else -value
