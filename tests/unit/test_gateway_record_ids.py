"""A record id belongs to the terminal that made it: no other terminal can take it over.

Record ids are printed on receipts (the QR code), and a terminal may stay offline for days. If the
host held ids across terminals, a dishonest shop could upload a record of its own under another
shop's id first; that shop's genuine sale would then be a "conflict" forever, never settled.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from host_gateway import postings
from host_gateway.check import run_check
from host_gateway.cli import main
from host_gateway.db import transaction
from host_gateway.models import StoredRecord
from ledger.reference import RecordRef
from tests.factories import Issuer
from tests.fixtures.gateway import PASSPHRASE, World, resigned, void_record
from tests.unit.test_gateway_ingest import balance


def test_another_terminal_cannot_take_over_a_record_id(world: World) -> None:
    card = world.funded_card()
    genuine = world.terminal.sell(card)  # made offline, its id is on the holder's receipt
    squatter = world.enroll()
    taken = resigned(squatter.sell(Issuer().card()), squatter.key, id=genuine.id)
    first = world.ingest([taken], squatter)
    assert (first.results[0].code, first.results[0].stored) == ("card_not_issued", True)

    report = world.ingest([genuine])
    assert (report.results[0].status, report.results[0].stored) == ("accepted", True)
    assert not report.results[0].duplicate
    assert balance(world, postings.shop(world.shop_id)) == -70_000
    assert report.contiguous_seq == genuine.seq and report.gaps == []
    again = world.ingest([genuine])  # the terminal's retry is answered from storage
    assert (again.results[0].status, again.results[0].duplicate) == ("accepted", True)
    squatter_again = world.ingest([taken], squatter)
    assert (squatter_again.results[0].code, squatter_again.results[0].duplicate) == (
        "card_not_issued",
        True,
    )
    with transaction(world.gateway.factory) as session:
        held = session.scalar(
            select(func.count())
            .select_from(StoredRecord)
            .where(StoredRecord.id == genuine.id.bytes)
        )
        assert held == 2
        assert run_check(session).ok


def test_a_void_undoes_its_own_terminals_sale_not_a_record_under_the_same_id(world: World) -> None:
    card = world.funded_card(200_000)
    sale = world.terminal.sell(card)
    squatter = world.enroll()
    world.ingest([resigned(squatter.sell(Issuer().card()), squatter.key, id=sale.id)], squatter)
    void, _ = void_record(world.terminal, card, sale)
    report = world.ingest([sale, void])
    assert [r.status for r in report.results] == ["accepted", "accepted"]
    assert balance(world, postings.shop(world.shop_id)) == 0
    assert balance(world, postings.purse(card.number, "APBD")) == -200_000
    with transaction(world.gateway.factory) as session:
        assert run_check(session).ok


def test_operators_find_the_right_record_when_two_terminals_hold_one_id(
    sqlite_world: World,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = sqlite_world
    card = world.funded_card()
    genuine = world.terminal.sell(card)
    squatter = world.enroll()
    world.ingest([resigned(squatter.sell(Issuer().card()), squatter.key, id=genuine.id)], squatter)
    world.ingest([genuine])
    monkeypatch.setenv("SSN_GATEWAY_PASSPHRASE", PASSPHRASE.decode())

    def show(reference: str) -> tuple[int, str, str]:
        code = main(["records", "show", reference, "--db", sqlite_url, "--json"])
        out, err = capsys.readouterr()
        return code, out, err

    qr = RecordRef(genuine.terminal_id, genuine.seq, genuine.id, genuine.hash()).qr_payload()
    code, out, _ = show(qr)  # the holder's receipt names the genuine sale
    shown = json.loads(out)
    assert code == 0 and shown["receipt_matches"] is True
    assert (shown["terminal"], shown["status"]) == (genuine.terminal_id, "accepted")
    code = main(["records", "show", qr, "--db", sqlite_url])  # for people: lines, rupiah, WITA
    out, _ = capsys.readouterr()
    assert code == 0 and " x Rp" in out and "WITA" in out
    code, _, err = show(str(genuine.id))  # the bare id is ambiguous: say so, do not pick one
    assert code != 0
    assert f"held by several terminals ({world.terminal.terminal_id}, " in err
    assert "TERMINAL/SEQ" in err
