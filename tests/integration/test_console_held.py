"""Held sales on the console: the settlement operator asks a release with a reason, the same
operator cannot approve it (the host's refusal shown), another operator approves it and the
shop's payable shows it; who sees what, and bad input changing nothing. In-process on SQLite and
PostgreSQL, and in a real chromium against ``ssn-gateway serve``."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from host_gateway.db import transaction
from host_gateway.models import Event, HeldRelease
from ledger.record import Record
from tests.factories import T0
from tests.fixtures.browser import browser_sign_in, screenshot
from tests.fixtures.clockshop import DAY, ClockShop, rice
from tests.fixtures.console import add_operators, csrf_of, sign_in
from tests.fixtures.gateway import Served, World, load_record, serve_world

SACK = "Rp70.000"
PAGE = "/console/settlement/ditahan"
ASK = PAGE + "/lepaskan"


def _stale_sale(shop: ClockShop) -> str:
    """A shop offline past the host's window: its honest sale is held as stale; TERMINAL/SEQ."""
    card = shop.funded()
    sale = shop.sell(card, T0 + 3_600, (rice(1),))
    assert shop.upload([sale], at=T0 + 6 * DAY) == [("rejected", "proof_time_stale")]
    return f"{sale.terminal_id}/{sale.seq}"


def _operator_lines(world: World) -> list[str]:
    with transaction(world.gateway.factory) as session:
        return list(session.scalars(select(Event.message).where(Event.code == "operator")))


def _releases(world: World) -> list[tuple[int, str | None]]:
    with transaction(world.gateway.factory) as session:
        rows = session.execute(select(HeldRelease.id, HeldRelease.approved_by)).all()
    return [(r.id, r.approved_by) for r in rows]


def test_an_auditor_sees_the_held_sales_but_no_form_and_its_posts_are_refused(
    clock_shop: ClockShop, console: TestClient
) -> None:
    reference = _stale_sale(clock_shop)
    assert sign_in(console, "auditor") == 303
    page = console.get(PAGE)
    assert page.status_code == 200
    row = re.search(rf'<tr id="held-{reference.replace("/", "-")}">.*?</tr>', page.text, re.S)
    assert row, "the held sale is listed"
    assert SACK in row.group(0) and "proof_time_stale" in row.group(0)
    assert "WITA" in row.group(0) and clock_shop.world.shop_id in row.group(0)
    assert 'name="reason"' not in page.text and "/setujui" not in page.text
    assert 'href="/console/settlement/ditahan"' in page.text  # in the menu
    csrf = csrf_of(console)
    asked = console.post(ASK, data={"csrf": csrf, "record": reference, "reason": "banjir"})
    assert asked.status_code == 403 and "Akses ditolak" in asked.text
    assert console.post(f"{PAGE}/1/setujui", data={"csrf": csrf}).status_code == 403
    assert _releases(clock_shop.world) == []
    assert clock_shop.held() == 70_000


def test_bad_input_and_a_second_submit_are_refused_with_a_message_and_change_nothing(
    clock_shop: ClockShop, console: TestClient
) -> None:
    shop, world = clock_shop, clock_shop.world
    reference = _stale_sale(shop)
    assert sign_in(console, "settlement") == 303
    csrf = csrf_of(console)
    form = {"csrf": csrf, "record": reference}
    empty = console.post(ASK, data={**form, "reason": "   "})
    assert empty.status_code == 400 and "say why" in empty.text
    assert "Tidak ada yang diubah" in empty.text
    unknown = console.post(ASK, data={**form, "record": f"{reference}9", "reason": "banjir"})
    assert unknown.status_code == 404 and "does not exist" in unknown.text
    assert _releases(world) == []
    asked = console.post(ASK, data={**form, "reason": "banjir, offline 5 hari"})
    assert (asked.status_code, asked.headers["location"]) == (303, PAGE)
    again = console.post(ASK, data={**form, "reason": "banjir, offline 5 hari"})
    assert again.status_code == 400 and "has release 1 already" in again.text
    page = console.get(PAGE).text
    waiting = re.search(r'<table id="waiting">.*?</table>', page, re.S)
    assert (
        waiting and reference in waiting.group(0) and "banjir, offline 5 hari" in waiting.group(0)
    )
    assert "/setujui" not in page  # the settlement operator does not approve
    assert console.post(f"{PAGE}/1/setujui", data={"csrf": csrf}).status_code == 403

    assert sign_in(console, "approver") == 303
    csrf = csrf_of(console)
    missing = console.post(f"{PAGE}/99/setujui", data={"csrf": csrf})
    assert missing.status_code == 404 and "release 99 does not exist" in missing.text
    assert (shop.held(), shop.shop_owed()) == (70_000, 0)
    assert console.post(f"{PAGE}/1/setujui", data={"csrf": csrf}).status_code == 303
    twice = console.post(f"{PAGE}/1/setujui", data={"csrf": csrf})
    assert twice.status_code == 400 and "was approved by approver" in twice.text
    assert (shop.held(), shop.shop_owed()) == (0, 70_000)  # paid once
    page = console.get(PAGE).text
    approved = re.search(r'<table id="approved">.*?</table>', page, re.S)
    assert approved and reference in approved.group(0) and "approver" in approved.group(0)
    lines = _operator_lines(world)
    assert f"settlement: held release 1 of {reference} by settlement" in lines
    assert "approver: held release 1 approved by approver" in lines
    assert len([line for line in lines if "held release" in line]) == 2


def test_the_operator_who_asked_cannot_approve_it(
    clock_shop: ClockShop, console: TestClient
) -> None:
    reference = _stale_sale(clock_shop)
    assert sign_in(console, "admin") == 303  # holds both sides
    csrf = csrf_of(console)
    asked = console.post(ASK, data={"csrf": csrf, "record": reference, "reason": "banjir"})
    assert asked.status_code == 303
    refused = console.post(f"{PAGE}/1/setujui", data={"csrf": csrf})
    assert refused.status_code == 400
    assert "another operator than who asked" in refused.text
    assert _releases(clock_shop.world) == [(1, None)]
    assert clock_shop.shop_owed() == 0


# --- in chromium, against a gateway process --------------------------------------------------


def _future_sales(world: World, count: int) -> list[Record]:
    """A card loaded now and ``count`` sales dated two hours ahead (a terminal clock set
    forward): genuine debits the host holds (their money in suspense)."""
    now = int(time.time())
    world.gateway.clock.now = now  # type: ignore[attr-defined]
    card = world.card()
    load = load_record(world.terminal, card, world.authorize(card, 1_000_000), now - 60)
    sales = [world.terminal.sell(card, time=now + 7_200 + i) for i in range(count)]
    results = world.ingest([load, *sales]).results
    assert results[0].status == "accepted"
    assert all(r.status == "rejected" for r in results[1:]), results
    return sales


@pytest.fixture
def held_site(tmp_path: Path) -> Iterator[Served]:
    """A gateway process with the console, one operator per role and two held sales."""
    server, world = serve_world(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    add_operators(world)
    yield Served(server, world)
    server.stop()
    world.gateway.close()


def _id(record: Record) -> str:
    return f"{record.terminal_id}-{record.seq}"


def test_a_held_sale_is_asked_refused_to_the_asker_approved_and_payable_to_the_shop(
    held_site: Served, page: Page
) -> None:
    site, base, world = held_site, held_site.server.base_url, held_site.world
    first, second = _future_sales(world, 2)
    browser_sign_in(page, base, "settlement")
    page.click("text=Settlement")
    page.click("#held-link")
    row = page.locator(f"#held-{_id(first)}")
    expect(row).to_contain_text(f"{first.terminal_id}/{first.seq}")
    expect(row).to_contain_text(SACK)
    expect(row).to_contain_text(re.compile(r"proof_time_future|quantity_period_future"))
    expect(row).to_contain_text("WITA")
    screenshot(page, "held")
    row.locator("input[name=reason]").fill("jam terminal maju, sudah diperbaiki")
    page.click(f"#ask-{_id(first)}")
    expect(page.locator("#waiting")).to_contain_text("jam terminal maju, sudah diperbaiki")
    expect(page.locator(f"#held-{_id(first)}")).to_have_count(0)
    assert page.locator("#approve-1").count() == 0  # the maker has no approve button

    browser_sign_in(page, base, "admin")  # asks the second, then tries to approve it too
    page.goto(base + PAGE)
    page.locator(f"#held-{_id(second)} input[name=reason]").fill("jam terminal maju")
    page.click(f"#ask-{_id(second)}")
    page.click("#approve-2")
    expect(page.locator(".error")).to_contain_text("another operator than who asked")
    screenshot(page, "held-same-operator")

    browser_sign_in(page, base, "approver")
    page.click("text=Penjualan ditahan")
    page.click("#approve-1")
    expect(page.locator("#approved-1")).to_contain_text("approver")
    page.click("#approve-2")
    expect(page.locator("#approved-2")).to_contain_text("approver")
    expect(page.locator("#waiting")).to_contain_text("Tidak ada pelepasan yang menunggu")
    expect(page.locator("#held")).to_contain_text("Tidak ada penjualan ditahan")
    screenshot(page, "held-approved")

    browser_sign_in(page, base, "settlement")
    page.click("text=Toko & terminal")
    expect(page.locator(f"#payable-{world.shop_id}")).to_have_text("Rp140.000")
    lines = _operator_lines(site.world)
    assert f"settlement: held release 1 of {first.terminal_id}/{first.seq} by settlement" in lines
    assert "approver: held release 2 approved by approver" in lines


def test_a_sale_held_for_what_it_is_shows_no_release_form(
    clock_shop: ClockShop, console: TestClient
) -> None:
    """Held for breaking a rule (a line not the catalog's): listed, marked not releasable, and
    a release asked by hand is refused."""
    shop = clock_shop
    card = shop.funded()
    wrong = dataclasses.replace(rice(1), het=75_000)  # not the catalog's HET
    sale = shop.sell(card, T0 + 600, (wrong,))
    [(status, code)] = shop.upload([sale], at=T0 + 900)
    assert status == "rejected" and code != "proof_time_stale"
    reference = f"{sale.terminal_id}/{sale.seq}"
    assert sign_in(console, "settlement") == 303
    page = console.get(PAGE)
    row = re.search(rf'<tr id="held-{reference.replace("/", "-")}">.*?</tr>', page.text, re.S)
    assert row, "the held sale is listed"
    assert "tidak dapat dilepaskan" in row.group(0) and 'name="reason"' not in row.group(0)
    asked = console.post(
        ASK, data={"csrf": csrf_of(console), "record": reference, "reason": "toko minta"}
    )
    assert "breaks a rule" in asked.text
    assert _releases(shop.world) == []
