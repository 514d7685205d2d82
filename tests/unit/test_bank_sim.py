"""The simulated bank: executes what it can, rejects what it must, never takes a file twice,
and its statement is valid camt.053 that adds up."""

from __future__ import annotations

import pytest
from lxml import etree

from host_gateway.settlement import bankfiles, payfile, xsd
from simulators.bank import bank
from simulators.bank.messages import BankFileError

NOW = 1_795_000_000


def payout(*transfers: tuple[str, int, str]) -> bytes:
    return payfile.pain001(
        payfile.Instruction(
            "SSN-PAYOUT-20261118",
            NOW,
            payfile.Party("BPDKIDJ1", "0011223344", "Dinas Sosial"),
            "Dinas Sosial",
            tuple(
                payfile.Transfer(e2e, amount, payfile.Party("BRINIDJA", account, "Toko"), "x")
                for e2e, amount, account in transfers
            ),
        )
    )


def test_unknown_closed_and_unfunded_transfers_are_rejected_with_their_reason() -> None:
    state = bank.new_bank("0011223344", "BPDKIDJ1", "Dinas Sosial")
    bank.fund(state, 100_000, "APBD", NOW)
    state.accounts["1111111111"] = bank.Account("BRINIDJA", "Toko A")
    state.accounts["2222222222"] = bank.Account("BRINIDJA", "Toko B", open=False)
    data = payout(
        ("E1", 60_000, "1111111111"),
        ("E2", 10_000, "2222222222"),
        ("E3", 10_000, "3333333333"),
        ("E4", 50_000, "1111111111"),  # 40,000 left in the giro account
    )
    report, statement = bank.submit(state, data, NOW)
    statuses = bankfiles.read_pain002(report.data).statuses
    assert [(s.end_to_end_id, s.status, s.reason[:4]) for s in statuses] == [
        ("E1", "ACSC", ""),
        ("E2", "RJCT", "AC04"),
        ("E3", "RJCT", "AC01"),
        ("E4", "RJCT", "AM04"),
    ]
    xsd.schema(xsd.CAMT053).assertValid(etree.fromstring(statement.data))
    read = bankfiles.read_camt053(statement.data)
    assert (read.opening, read.closing) == (0, 40_000)
    assert [(e.reference, e.amount) for e in read.entries] == [("APBD", 100_000), ("E1", -60_000)]
    assert state.accounts["1111111111"].balance == 60_000
    with pytest.raises(BankFileError, match="not executed twice"):
        bank.submit(state, data, NOW)
    assert state.accounts["1111111111"].balance == 60_000
