"""The bank's side of ISO 20022: it reads a ``pain.001.001.03`` payout file and writes a
``pain.002.001.03`` status report and a ``camt.053.001.02`` statement, with lxml (never by string
concatenation). Amounts are whole rupiah (IDR).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lxml import etree
from lxml.builder import ElementMaker  # type: ignore[import-not-found]  # no stub

PAIN001 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
PAIN002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
CURRENCY = "IDR"


class BankFileError(ValueError):
    """A payout file the bank cannot read: nothing is executed."""


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount: int
    bic: str
    account: str
    name: str


@dataclass(frozen=True)
class PayoutOrder:
    message_id: str
    debtor_account: str
    transfers: tuple[Transfer, ...]


def read_pain001(data: bytes) -> PayoutOrder:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise BankFileError(f"not well-formed XML: {exc}") from exc
    if root.tag != f"{{{PAIN001}}}Document":
        raise BankFileError(f"not a pain.001.001.03 document: {root.tag}")
    ns = {"p": PAIN001}

    def text(node: etree._Element, path: str) -> str:
        value = node.findtext(path, namespaces=ns)
        if not value:
            raise BankFileError(f"missing {path.replace('p:', '')}")
        return value.strip()

    initiation = root.find("p:CstmrCdtTrfInitn", ns)
    if initiation is None:
        raise BankFileError("missing CstmrCdtTrfInitn")
    transfers = []
    for payment in initiation.iterfind("p:PmtInf", ns):
        for tx in payment.iterfind("p:CdtTrfTxInf", ns):
            transfers.append(
                Transfer(
                    text(tx, "p:PmtId/p:EndToEndId"),
                    amount(text(tx, "p:Amt/p:InstdAmt")),
                    text(tx, "p:CdtrAgt/p:FinInstnId/p:BIC"),
                    text(tx, "p:CdtrAcct/p:Id/p:Othr/p:Id"),
                    text(tx, "p:Cdtr/p:Nm"),
                )
            )
    if not transfers:
        raise BankFileError("the file holds no transfer")
    payment = initiation.find("p:PmtInf", ns)
    assert payment is not None
    return PayoutOrder(
        text(initiation, "p:GrpHdr/p:MsgId"),
        text(payment, "p:DbtrAcct/p:Id/p:Othr/p:Id"),
        tuple(transfers),
    )


def amount(text: str) -> int:
    """Whole rupiah from an ISO amount ("70000" or "70000.00")."""
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or (fraction and set(fraction) != {"0"}):
        raise BankFileError(f"not an amount of whole rupiah: {text!r}")
    return int(whole)


@dataclass(frozen=True)
class Status:
    end_to_end_id: str
    status: str
    """ACSC (settled), RJCT (rejected) or PDNG (pending)."""
    reason: str = ""
    """ISO reason code of a rejection: AC01 unknown account, AC04 closed, AM04 no funds."""
    info: str = ""


def pain002(message_id: str, original_id: str, at: dt.datetime, statuses: list[Status]) -> bytes:
    e = ElementMaker(namespace=PAIN002, nsmap={None: PAIN002})
    group = "ACSC" if all(s.status == "ACSC" for s in statuses) else "PART"
    if all(s.status == "RJCT" for s in statuses):
        group = "RJCT"
    txs = []
    for s in statuses:
        parts: list[Any] = [e.OrgnlEndToEndId(s.end_to_end_id), e.TxSts(s.status)]
        if s.reason:  # AddtlInf is Max105Text: one character at least, or none at all
            info = [e.AddtlInf(s.info[:105])] if s.info else []
            parts.append(e.StsRsnInf(e.Rsn(e.Cd(s.reason)), *info))
        txs.append(e.TxInfAndSts(*parts))
    document = e.Document(
        e.CstmrPmtStsRpt(
            e.GrpHdr(e.MsgId(message_id), e.CreDtTm(at.isoformat(timespec="seconds"))),
            e.OrgnlGrpInfAndSts(
                e.OrgnlMsgId(original_id), e.OrgnlMsgNmId("pain.001.001.03"), e.GrpSts(group)
            ),
            e.OrgnlPmtInfAndSts(e.OrgnlPmtInfId(original_id), *txs),
        )
    )
    return _bytes(document)


@dataclass(frozen=True)
class Movement:
    amount: int
    credit: bool
    reference: str
    """The end-to-end id of a payout, or what the credit was (funding)."""
    booked: str
    """ISO date."""


def camt053(
    message_id: str,
    statement_id: str,
    sequence: int,
    at: dt.datetime,
    account: str,
    opening: int,
    movements: list[Movement],
) -> bytes:
    e = ElementMaker(namespace=CAMT053, nsmap={None: CAMT053})
    closing = opening + sum(m.amount if m.credit else -m.amount for m in movements)
    today = at.date().isoformat()

    def balance(code: str, value: int) -> Any:
        return e.Bal(
            e.Tp(e.CdOrPrtry(e.Cd(code))),
            e.Amt(str(abs(value)), Ccy=CURRENCY),
            e.CdtDbtInd("CRDT" if value >= 0 else "DBIT"),
            e.Dt(e.Dt(today)),
        )

    entries = [
        e.Ntry(
            e.Amt(str(m.amount), Ccy=CURRENCY),
            e.CdtDbtInd("CRDT" if m.credit else "DBIT"),
            e.Sts("BOOK"),
            e.BookgDt(e.Dt(m.booked)),
            e.ValDt(e.Dt(m.booked)),
            e.BkTxCd(
                e.Domn(
                    e.Cd("PMNT"),
                    e.Fmly(e.Cd("RCDT" if m.credit else "ICDT"), e.SubFmlyCd("DMCT")),
                )
            ),
            e.NtryDtls(e.TxDtls(e.Refs(e.EndToEndId(m.reference)))),
        )
        for m in movements
    ]
    document = e.Document(
        e.BkToCstmrStmt(
            e.GrpHdr(e.MsgId(message_id), e.CreDtTm(at.isoformat(timespec="seconds"))),
            e.Stmt(
                e.Id(statement_id),
                e.ElctrncSeqNb(str(sequence)),
                e.CreDtTm(at.isoformat(timespec="seconds")),
                e.Acct(e.Id(e.Othr(e.Id(account))), e.Ccy(CURRENCY)),
                balance("OPBD", opening),
                balance("CLBD", closing),
                *entries,
            ),
        )
    )
    return _bytes(document)


def _bytes(document: Any) -> bytes:
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
