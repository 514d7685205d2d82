"""The payout file: an ISO 20022 ``pain.001.001.03`` customer credit transfer initiation from
the giro parent account, one transaction per shop, and the same transfers as a simple CSV for
banks that take a bulk upload instead.

The XML is built with lxml and checked against the official schema shipped in ``schemas/``
(:mod:`host_gateway.settlement.xsd`) before anyone sees it. The
bytes depend only on what is passed in: regenerating a file gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import cast

from lxml import etree
from lxml.builder import ElementMaker  # type: ignore[import-not-found]  # no stub

from host_gateway.errors import GatewayError
from host_gateway.settlement import xsd
from ledger.verify import WITA

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
CURRENCY = "IDR"
_E = ElementMaker(namespace=NAMESPACE, nsmap={None: NAMESPACE})
CSV_HEADER = ("end_to_end_id", "bic", "account_number", "holder_name", "amount", "currency", "note")


@dataclass(frozen=True)
class Party:
    bic: str
    account_number: str
    name: str


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount: int
    creditor: Party
    note: str


@dataclass(frozen=True)
class Instruction:
    message_id: str
    created: int
    """Host unix seconds: the file's creation time (WITA) and requested execution date."""
    debtor: Party
    initiator: str
    transfers: tuple[Transfer, ...]

    @property
    def total(self) -> int:
        return sum(t.amount for t in self.transfers)


def _account(number: str) -> etree._Element:
    return cast(etree._Element, _E.Id(_E.Othr(_E.Id(number))))


def _agent(bic: str) -> etree._Element:
    return cast(etree._Element, _E.FinInstnId(_E.BIC(bic)))


def _transfer(t: Transfer) -> etree._Element:
    return cast(
        etree._Element,
        _E.CdtTrfTxInf(
            _E.PmtId(_E.EndToEndId(t.end_to_end_id)),
            _E.Amt(_E.InstdAmt(str(t.amount), Ccy=CURRENCY)),
            _E.CdtrAgt(_agent(t.creditor.bic)),
            _E.Cdtr(_E.Nm(t.creditor.name)),
            _E.CdtrAcct(_account(t.creditor.account_number)),
            _E.RmtInf(_E.Ustrd(t.note)),
        ),
    )


def pain001(instruction: Instruction) -> bytes:
    """The XML file, valid against the schema (or a GatewayError saying why not)."""
    if not instruction.transfers:
        raise GatewayError("invalid", "a payout file needs at least one transfer")
    created = dt.datetime.fromtimestamp(instruction.created, WITA)
    count, total = str(len(instruction.transfers)), str(instruction.total)
    debtor = instruction.debtor
    document = _E.Document(
        _E.CstmrCdtTrfInitn(
            _E.GrpHdr(
                _E.MsgId(instruction.message_id),
                _E.CreDtTm(created.isoformat()),
                _E.NbOfTxs(count),
                _E.CtrlSum(total),
                _E.InitgPty(_E.Nm(instruction.initiator)),
            ),
            _E.PmtInf(
                _E.PmtInfId(instruction.message_id),
                _E.PmtMtd("TRF"),
                _E.BtchBookg("false"),
                _E.NbOfTxs(count),
                _E.CtrlSum(total),
                _E.ReqdExctnDt(created.date().isoformat()),
                _E.Dbtr(_E.Nm(debtor.name)),
                _E.DbtrAcct(_account(debtor.account_number), _E.Ccy(CURRENCY)),
                _E.DbtrAgt(_agent(debtor.bic)),
                _E.ChrgBr("DEBT"),
                *(_transfer(t) for t in instruction.transfers),
            ),
        )
    )
    data = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(data)
    return data


def validate(data: bytes) -> None:
    """Raise a GatewayError naming the first schema violation."""
    xsd.parse_valid(data, xsd.PAIN001)


def bulk_csv(instruction: Instruction) -> bytes:
    """The same transfers, one line each, for a bank's bulk upload."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for t in instruction.transfers:
        writer.writerow(
            (
                t.end_to_end_id,
                t.creditor.bic,
                t.creditor.account_number,
                t.creditor.name,
                t.amount,
                CURRENCY,
                t.note,
            )
        )
    return out.getvalue().encode("utf-8")
