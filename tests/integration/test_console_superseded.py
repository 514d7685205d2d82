"""Loads superseded when their card ended, on the console (*Muatan dialihkan*) and on the command
line (``cards superseded``): carried to the new card or back to the fund, and the ones the old
card applied anyway, held in suspense with the record (or the card's log) that brought them.
Read by every role that sees held sales, the auditor too; no form. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from host_gateway import postings
from host_gateway.cli import main as gateway_main
from host_gateway.db import transaction
from host_gateway.evidence import EvidenceIntake
from host_gateway.programs import cardlife
from host_gateway.programs.superseded import superseded_loads
from host_gateway.web.roles import GRANTS, Permission, Role
from ledger.bodies import LoadBody
from ledger.record import RecordType
from tests.fixtures.console import sign_in, username
from tests.fixtures.gateway import World, load_record
from tests.fixtures.programs import assert_books_balance, define_programs, recipient_with_card
from tests.unit.test_programs_cards import PIN, balance, blank_card

PAGE = "/console/settlement/dialihkan"


def _three_ended_cards(world: World, tmp_path: Path) -> dict[str, str]:
    """Card 1 replaced, its aid taken anyway by a terminal's record; card 2 replaced, its aid
    read from the card's log; card 3 closed, its aid back to the fund, never taken."""
    define_programs(world)
    _, first = recipient_with_card(world, 1)
    first_aid = world.authorize(first, 200_000)
    _, second = recipient_with_card(world, 2)
    second_aid = world.authorize(second, 150_000)
    _, closed = recipient_with_card(world, 3)
    world.authorize(closed, 75_000)
    numbers = {"first": first.number, "second": second.number, "closed": closed.number}
    for key, card in (("first", first), ("second", second)):
        with blank_card(tmp_path / f"new-{key}.json") as transport:
            issued, _ = cardlife.replace(
                world.gateway.factory, world.gateway.keys, transport,
                old_number=card.number, pin=PIN, now=world.now, operator="Ani",
            )  # fmt: skip
        numbers[f"{key}_new"] = issued.card.number
    with transaction(world.gateway.factory) as session:
        cardlife.close(session, world.gateway.keys, closed.number, world.now)

    late = load_record(world.terminal, first, first_aid, world.now)
    result = world.ingest([late]).results[0]
    assert (result.status, result.code) == ("rejected", "load_superseded")
    numbers["record"] = f"{late.terminal_id}/{late.seq}"
    receipt = second.apply_load(second_aid, world.terminal.terminal_id, world.now)
    with transaction(world.gateway.factory) as session:
        intake = EvidenceIntake(session, world.gateway.keys, world.terminal.terminal_id, world.now)
        [logged] = intake.submit([receipt.encode()])
    assert (logged.result, logged.code) == ("stored", "load_superseded")
    numbers["log"] = f"{world.terminal.terminal_id} #{receipt.counter}"
    assert balance(world, postings.suspense("APBD")) == 350_000  # both held, never paid twice
    assert_books_balance(world)
    return numbers


def _row(page: str, number: str) -> str:
    found = re.search(rf'<tr id="superseded-{number}-\d+">.*?</tr>', page, re.S)
    assert found, f"card {number} is listed"
    return found.group(0)


@pytest.mark.parametrize("role", [r for r in Role if r in GRANTS[Permission.SETTLEMENT_VIEW]])
def test_the_operator_sees_each_superseded_load_and_what_is_held(
    world: World, tmp_path: Path, console: TestClient, role: Role
) -> None:
    n = _three_ended_cards(world, tmp_path)
    assert sign_in(console, username(role)) == 303
    answer = console.get(PAGE)
    assert answer.status_code == 200
    page = answer.text
    assert f'href="{PAGE}"' in page  # in the menu

    first = _row(page, n["first"])
    assert n["first_new"] in first and "APBD" in first and "Rp200.000" in first
    assert "ya: Rp200.000 di suspense" in first and f"catatan {n['record']}" in first
    assert "WITA" in first
    second = _row(page, n["second"])
    assert n["second_new"] in second and "Rp150.000" in second
    assert "ya: Rp150.000 di suspense" in second and f"log kartu {n['log']}" in second
    closed = _row(page, n["closed"])
    assert "kembali ke dana program" in closed and "Rp75.000" in closed
    assert closed.endswith("<td>tidak</td></tr>")  # not taken: nothing held

    assert "Rp350.000" in page and "tidak dibayar dua kali" in page
    assert "<form" not in page.split("<main>", 1)[1]  # read only (signing out is in the header)
    settlement = console.get("/console/settlement").text
    assert f'href="{PAGE}"' in settlement


def test_roles_without_held_sales_do_not_see_it(world: World, console: TestClient) -> None:
    for role in Role:
        if role in GRANTS[Permission.SETTLEMENT_VIEW]:
            continue
        assert sign_in(console, username(role)) == 303
        assert console.get(PAGE).status_code == 403
        assert f'href="{PAGE}"' not in console.get("/console/").text


def test_the_command_lists_them(
    world: World, tmp_path: Path, gateway_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    n = _three_ended_cards(world, tmp_path)
    db = ["--db", gateway_db_url]
    assert gateway_main(["cards", "superseded", *db]) == 0
    lines = capsys.readouterr().out.splitlines()
    [first] = [line for line in lines if line.startswith(n["first"])]
    assert f"-> {n['first_new']} load" in first and "Rp200.000" in first
    assert f"taken by the old card anyway ({n['record']}): held in suspense" in first
    [closed] = [line for line in lines if line.startswith(n["closed"])]
    assert "-> the program's fund" in closed and "taken" not in closed
    assert gateway_main(["cards", "superseded", *db, "--json"]) == 0
    rows = {r["old_card"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[n["second"]]["in_suspense"] == 150_000
    assert rows[n["second"]]["taken"][0]["from_card_log"] is True
    assert rows[n["closed"]]["new_card"] is None and rows[n["closed"]]["in_suspense"] == 0


def test_a_receipt_read_from_the_log_then_recorded_is_listed_once_held_once(
    world: World, tmp_path: Path
) -> None:
    """The card's log brought the receipt first; the terminal's record of it comes later and
    takes the counter over: one row with the record, the money held once."""
    define_programs(world)
    _, old = recipient_with_card(world, 1)
    aid = world.authorize(old, 150_000)
    with blank_card(tmp_path / "new.json") as transport:
        cardlife.replace(
            world.gateway.factory, world.gateway.keys, transport,
            old_number=old.number, pin=PIN, now=world.now, operator="Ani",
        )  # fmt: skip
    terminal = world.terminal
    receipt = old.apply_load(aid, terminal.terminal_id, world.now)
    with transaction(world.gateway.factory) as session:
        EvidenceIntake(session, world.gateway.keys, terminal.terminal_id, world.now).submit(
            [receipt.encode()]
        )
    body = LoadBody(old.number, old.certificate.encode(), aid.encode(), receipt.encode())
    record = terminal.append(RecordType.LOAD, body.to_value(), world.now)
    result = world.ingest([record]).results[0]
    assert (result.status, result.code) == ("rejected", "load_superseded")
    with transaction(world.gateway.factory) as session:
        [row] = superseded_loads(session)
    assert [t.reference for t in row.taken] == [f"{record.terminal_id}/{record.seq}"]
    assert row.in_suspense == 150_000 == balance(world, postings.suspense("APBD"))
    assert_books_balance(world)
