"""The payout file: pain.001 valid against the official schema, one transfer per shop, the same
bytes every time, released once by a second operator. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from lxml import etree

from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.settlement import accounts, payfile, payouts, xsd
from tests.fixtures.gateway import FakeClock, World
from tests.unit.test_gateway_continuity import other_shop
from tests.unit.test_settlement_windows import DAY, END_OF_DAY, bank, close

NS = {"p": payfile.NAMESPACE}


def closed_day_with_two_shops(world: World, clock: FakeClock) -> str:
    card = world.funded_card()
    other, other_id = other_shop(world)
    bank(world, world.shop_id)
    bank(world, other_id, "9876543210")
    world.ingest([world.terminal.sell(card)])
    world.ingest([other.sell(card), other.sell(card)], terminal=other)
    with transaction(world.gateway.factory) as session:
        accounts.set_giro(session, "BPDKIDJ1", "0011223344", "Dinas Sosial Kota Samarinda")
    clock.now = END_OF_DAY + 60
    close(world, DAY)
    return other_id


def prepare(world: World, operator: str = "Ani") -> payouts.PayoutFile:
    with transaction(world.gateway.factory) as session:
        return payouts.prepare(session, DAY, operator, world.now)


def release(world: World, operator: str) -> payouts.PayoutFile:
    with transaction(world.gateway.factory) as session:
        return payouts.release(session, DAY, operator, world.now)


def test_the_payout_file_is_valid_pain001_with_one_transfer_per_shop(
    world: World, clock: FakeClock
) -> None:
    other_id = closed_day_with_two_shops(world, clock)
    prepared = prepare(world)
    document = etree.fromstring(prepared.xml)
    assert xsd.schema(xsd.PAIN001).validate(document)
    transfers = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): (
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
            tx.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS),
        )
        for tx in document.iterfind(".//p:CdtTrfTxInf", NS)
    }
    assert transfers == {
        f"SSN20261118{world.shop_id}": ("70000", "1234567890"),
        f"SSN20261118{other_id}": ("140000", "9876543210"),
    }
    assert document.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "210000"
    debtor = "p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAcct/p:Id/p:Othr/p:Id"
    assert document.findtext(debtor, namespaces=NS) == "0011223344"
    rows = list(csv.DictReader(io.StringIO(prepared.csv.decode())))
    assert [(r["end_to_end_id"], r["amount"]) for r in rows] == [
        (f"SSN20261118{world.shop_id}", "70000"),
        (f"SSN20261118{other_id}", "140000"),
    ]


def test_the_same_operator_cannot_release_and_a_release_happens_once(
    world: World, clock: FakeClock
) -> None:
    closed_day_with_two_shops(world, clock)
    prepared = prepare(world, "Ani")
    with pytest.raises(GatewayError, match="exists"), transaction(world.gateway.factory) as s:
        payouts.prepare(s, DAY, "Budi", world.now)
    with pytest.raises(GatewayError, match="another operator"):
        release(world, " ani ")
    clock.now += 3_600  # regenerated later: the same bytes
    released = release(world, "Budi")
    assert (released.xml, released.csv) == (prepared.xml, prepared.csv)
    assert released.released_by == "Budi"
    with pytest.raises(GatewayError, match="never twice"):
        release(world, "Citra")
    with transaction(world.gateway.factory) as session:
        assert payouts.render(session, DAY).xml == prepared.xml
        assert {i.status for i in payouts.items(session, DAY)} == {"released"}


def test_a_file_that_breaks_the_schema_is_refused() -> None:
    good = payfile.Instruction(
        "SSN-PAYOUT-20261118",
        1_795_000_000,
        payfile.Party("BPDKIDJ1", "0011223344", "Dinas Sosial"),
        "Dinas Sosial",
        (payfile.Transfer("E2E-1", 70_000, payfile.Party("BRINIDJA", "123456", "Toko"), "x"),),
    )
    data = payfile.pain001(good)
    broken = data.replace(b"<BIC>BRINIDJA</BIC>", b"<BIC>brinidja</BIC>")
    with pytest.raises(GatewayError, match=r"not a valid pain\.001\.001\.03"):
        payfile.validate(broken)
    with pytest.raises(GatewayError, match="not well-formed"):
        payfile.validate(data[:-30])
