"""Reading the bank's answers: a ``pain.002.001.03`` payment status report and a
``camt.053.001.02`` statement of the giro account, parsed with lxml (``xsd.parse``: no DOCTYPE,
no entities, no network). The statement is validated against its official schema. The status
report's official schema is not shipped (no copy of the ISO/SWIFT file could be had), so its
structure is checked strictly before it is read: every element in its namespace, known to
pain.002.001.03 where it stands, in order, as often as allowed, no attributes or stray text, and
the values the host uses (identifiers, status and reason codes, date-times) in their ISO form.
Anything missing, unknown or malformed is one clear error and the file changes nothing (R2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from host_gateway.errors import GatewayError
from host_gateway.settlement import xsd

PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
STATUSES = ("ACTC", "RJCT", "PDNG", "ACCP", "ACSP", "ACSC", "ACWC")
"""pain.002.001.03 TransactionIndividualStatus3Code: a transaction's status."""
GROUP_STATUSES = (*STATUSES, "PART")
"""TransactionGroupStatus3Code: a file's or a payment information's status."""


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
    root = xsd.parse(data)
    if root.tag != f"{{{namespace}}}Document":
        raise _bad(what, f"the document is {root.tag}, not {namespace}")
    return root


MANY = 1 << 31
Model = tuple[tuple[str, int, int], ...]
"""An element's children, in order: (name, fewest, most)."""

_PAIN002: dict[str, Model] = {
    "Document": (("CstmrPmtStsRpt", 1, 1),),
    "CstmrPmtStsRpt": (
        ("GrpHdr", 1, 1),
        ("OrgnlGrpInfAndSts", 1, 1),
        ("OrgnlPmtInfAndSts", 0, MANY),
    ),
    "GrpHdr": (
        ("MsgId", 1, 1),
        ("CreDtTm", 1, 1),
        ("InitgPty", 0, 1),
        ("FwdgAgt", 0, 1),
        ("DbtrAgt", 0, 1),
        ("CdtrAgt", 0, 1),
    ),
    "OrgnlGrpInfAndSts": (
        ("OrgnlMsgId", 1, 1),
        ("OrgnlMsgNmId", 1, 1),
        ("OrgnlCreDtTm", 0, 1),
        ("OrgnlNbOfTxs", 0, 1),
        ("OrgnlCtrlSum", 0, 1),
        ("GrpSts", 0, 1),
        ("StsRsnInf", 0, MANY),
        ("NbOfTxsPerSts", 0, MANY),
    ),
    "OrgnlPmtInfAndSts": (
        ("OrgnlPmtInfId", 1, 1),
        ("OrgnlNbOfTxs", 0, 1),
        ("OrgnlCtrlSum", 0, 1),
        ("PmtInfSts", 0, 1),
        ("StsRsnInf", 0, MANY),
        ("NbOfTxsPerSts", 0, MANY),
        ("TxInfAndSts", 0, MANY),
    ),
    "TxInfAndSts": (
        ("StsId", 0, 1),
        ("OrgnlInstrId", 0, 1),
        ("OrgnlEndToEndId", 0, 1),
        ("TxSts", 0, 1),
        ("StsRsnInf", 0, MANY),
        ("ChrgsInf", 0, MANY),
        ("AccptncDtTm", 0, 1),
        ("AcctSvcrRef", 0, 1),
        ("ClrSysRef", 0, 1),
        ("OrgnlTxRef", 0, 1),
    ),
    "StsRsnInf": (("Orgtr", 0, 1), ("Rsn", 0, 1), ("AddtlInf", 0, MANY)),
    "Rsn": (("Cd", 0, 1), ("Prtry", 0, 1)),
}
_OPAQUE = {"InitgPty", "FwdgAgt", "DbtrAgt", "CdtrAgt", "NbOfTxsPerSts", "Orgtr", "ChrgsInf"} | {
    "OrgnlTxRef"
}
"""Parts the host does not read: their content is only held to the namespace."""


def _text_of(low: int, high: int) -> Callable[[str], bool]:
    return lambda value: low <= len(value) <= high


def _iso_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


_MAX35 = _text_of(1, 35)
_LEAVES: dict[str, Callable[[str], bool]] = {
    "MsgId": _MAX35,
    "CreDtTm": _iso_datetime,
    "OrgnlMsgId": _MAX35,
    "OrgnlMsgNmId": _MAX35,
    "OrgnlCreDtTm": _iso_datetime,
    "OrgnlNbOfTxs": lambda v: re.fullmatch(r"[0-9]{1,15}", v) is not None,
    "OrgnlCtrlSum": lambda v: re.fullmatch(r"[0-9]{1,18}(\.[0-9]{1,17})?", v) is not None,
    "GrpSts": GROUP_STATUSES.__contains__,
    "PmtInfSts": GROUP_STATUSES.__contains__,
    "OrgnlPmtInfId": _MAX35,
    "StsId": _MAX35,
    "OrgnlInstrId": _MAX35,
    "OrgnlEndToEndId": _MAX35,
    "TxSts": STATUSES.__contains__,
    "AccptncDtTm": _iso_datetime,
    "AcctSvcrRef": _MAX35,
    "ClrSysRef": _MAX35,
    "Cd": _text_of(1, 4),
    "Prtry": _MAX35,
    "AddtlInf": _text_of(1, 105),
}


def _check_pain002(node: etree._Element, path: str) -> None:
    """Refuse whatever pain.002.001.03 does not allow where it stands (see the module doc)."""
    name = etree.QName(node).localname
    here = f"{path}/{name}" if path else name
    if etree.QName(node).namespace != PAIN002:
        raise _pain002(f"{here} is not in the {PAIN002} namespace")
    if node.attrib:
        raise _pain002(f"{here} has attributes ({', '.join(str(k) for k in node.attrib)})")
    children = [c for c in node if isinstance(c.tag, str)]
    if name in _OPAQUE:
        for child in node.iter():
            if isinstance(child.tag, str) and etree.QName(child).namespace != PAIN002:
                raise _pain002(f"{here} holds {child.tag}, not of {PAIN002}")
        return
    if name in _LEAVES:
        value = (node.text or "").strip()
        if children or not _LEAVES[name](value):
            raise _pain002(f"{here} {value!r} is not a valid {name}")
        return
    if (node.text or "").strip() or any((c.tail or "").strip() for c in node):
        raise _pain002(f"{here} holds stray text")
    model = _PAIN002[name]
    position = 0
    for child_name, fewest, most in model:
        count = 0
        while (
            position < len(children)
            and etree.QName(children[position]).localname == child_name
            and etree.QName(children[position]).namespace == PAIN002
        ):
            _check_pain002(children[position], here)
            position, count = position + 1, count + 1
        if count < fewest:
            raise _pain002(f"{here}/{child_name} is missing")
        if count > most:
            raise _pain002(f"{here}/{child_name} appears {count} times (at most {most})")
    if position < len(children):
        extra = children[position]
        raise _pain002(f"{here} does not allow {extra.tag} there")
    if name == "Rsn" and len(children) != 1:
        raise _pain002(f"{here} needs exactly one of Cd or Prtry")


def _pain002(why: str) -> GatewayError:
    return _bad("pain.002.001.03 status report", why)


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
    what = "pain.002.001.03 status report"
    ns = {"b": PAIN002}
    root = _root(data, PAIN002, what)
    _check_pain002(root, "")
    report = root.find("b:CstmrPmtStsRpt", ns)
    assert report is not None  # the check above requires it
    statuses = []
    for tx in report.iterfind("b:OrgnlPmtInfAndSts/b:TxInfAndSts", ns):
        status = _text(tx, "b:TxSts", ns, what)
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
