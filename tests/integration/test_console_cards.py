"""Cards and reports in a real chromium against ``ssn-gateway serve``: a card's purses and
history, hotlisting one and closing another (its money back to the program), a PIN-unblock
order signed from the card page, the semester report with its chart and files, the catalog with
its HET ceilings. In process (SQLite and PostgreSQL): the unblock order's refusals and roles."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from host_gateway import cards, pin_unblocks
from host_gateway.db import transaction
from host_gateway.models import Account, Event, PinUnblock
from tests.factories import FakeCard
from tests.fixtures.browser import browser_sign_in, screenshot
from tests.fixtures.console import csrf_of, sign_in
from tests.fixtures.gateway import Served, World, load_record, now_sale
from tests.fixtures.programs import recipient_with_card


def _balance(site: Served, code: str) -> int:
    with transaction(site.world.gateway.factory) as session:
        return int(session.scalar(select(Account.balance).where(Account.code == code)) or 0)


def _spent_card(site: Served) -> FakeCard:
    """A recipient's card loaded with Rp1,000,000 and used once for Rp70,000."""
    world = site.world
    _, card = recipient_with_card(world, 1)
    load = load_record(world.terminal, card, world.authorize(card, 1_000_000), world.now)
    sale = now_sale(world, world.terminal, card)
    assert [r.status for r in world.ingest([load, sale]).results] == ["accepted"] * 2
    return card


def test_a_card_shows_its_history_is_hotlisted_and_closed_by_the_data_officer(
    programs_site: Served, page: Page
) -> None:
    site, base = programs_site, programs_site.server.base_url
    card = _spent_card(site)
    lost = site.world.card(programs=("APBD",), holder="Rina")
    browser_sign_in(page, base, "data-officer")
    page.get_by_role("link", name="Kartu", exact=True).click()
    page.click(f"text={card.number}")
    expect(page.locator("#shadow-APBD")).to_have_text("Rp930.000")
    expect(page.locator("#records")).to_contain_text("-Rp70.000")
    expect(page.locator("#records")).to_contain_text("+Rp1.000.000")
    expect(page.locator("#loads")).to_contain_text("Rp1.000.000")
    screenshot(page, "card")

    page.goto(f"{base}/console/kartu/{lost.number}")
    page.select_option("#hotlist-form select[name=reason]", label="hilang")
    page.fill("#hotlist-form input[name=note]", "dilaporkan di kelurahan")
    page.click("#hotlist")
    expect(page.locator("#card-status")).to_have_text("hotlisted")
    expect(page.locator("#hotlist-entries")).to_contain_text("dilaporkan di kelurahan")

    fund_before = _balance(site, "fund:APBD")
    page.goto(f"{base}/console/kartu/{card.number}")
    page.click("#close-card")
    expect(page.locator("#card-status")).not_to_have_text("active")
    assert _balance(site, "fund:APBD") - fund_before == -930_000  # back to the program
    with transaction(site.world.gateway.factory) as session:
        lines = set(session.scalars(select(Event.message).where(Event.code == "operator")))
    assert f"data-officer: cards hotlist {lost.number} reason 1" in lines
    assert f"data-officer: recipients close-card {card.number}" in lines

    browser_sign_in(page, base, "auditor")  # reads, changes nothing
    page.goto(f"{base}/console/kartu/{lost.number}")
    expect(page.locator("#hotlist-entries")).to_contain_text("hilang")
    assert page.locator("#hotlist-form, #close-form").count() == 0


def test_a_pin_unblock_order_is_signed_from_the_card_page_and_shown_open(
    programs_site: Served, page: Page
) -> None:
    site, base = programs_site, programs_site.server.base_url
    _, card = recipient_with_card(site.world, 1)
    browser_sign_in(page, base, "data-officer")
    page.goto(f"{base}/console/kartu/{card.number}")
    expect(page.locator("#pin-unblocks")).to_contain_text("Belum pernah")
    page.fill("#unblock-form input[name=tries]", "5")
    page.click("#unblock-pin")
    order = page.locator("#pin-unblock-1")
    expect(order).to_contain_text("terbuka")
    expect(order).to_contain_text("data-officer")
    expect(order).to_contain_text("belum")  # not applied by a terminal yet
    assert order.locator("td.num").all_inner_texts() == ["1", "5"]
    screenshot(page, "card-pin-unblock")
    page.click("#unblock-pin")  # a second one while the first is open
    expect(page.locator(".error")).to_contain_text("already has PIN-unblock order 1 open")
    assert _unblock_orders(site.world, card.number) == 1
    with transaction(site.world.gateway.factory) as session:
        lines = list(session.scalars(select(Event.message).where(Event.code == "operator")))
    assert any(
        m.startswith(f"data-officer: cards unblock-pin {card.number} order 1") for m in lines
    )

    browser_sign_in(page, base, "auditor")  # sees the order, gets no form
    page.goto(f"{base}/console/kartu/{card.number}")
    expect(page.locator("#pin-unblock-1")).to_contain_text("terbuka")
    assert page.locator("#unblock-form").count() == 0


def _unblock_orders(world: World, number: str) -> int:
    with transaction(world.gateway.factory) as session:
        query = select(func.count()).where(PinUnblock.card_number == number)
        return session.scalar(query) or 0


def test_a_pin_unblock_order_refused_or_applied_is_shown_and_roles_are_kept(
    world: World, console: TestClient
) -> None:
    card, listed = world.card(), world.card()
    with transaction(world.gateway.factory) as session:
        cards.hotlist_card(session, world.gateway.keys, listed.number, 1, "hilang", world.now)
    assert sign_in(console, "auditor") == 303
    refused = console.post(
        f"/console/kartu/{card.number}/buka-pin", data={"csrf": csrf_of(console)}
    )
    assert refused.status_code == 403 and _unblock_orders(world, card.number) == 0

    assert sign_in(console, "data-officer") == 303
    csrf = csrf_of(console)
    url = f"/console/kartu/{card.number}/buka-pin"
    for form, status, message in (
        ({"tries": "tiga"}, 400, "tries must be a whole number"),
        ({"tries": "16"}, 400, "tries must be 1..15"),
        ({"days": "0"}, 400, "valid for 1..90 days"),
    ):
        answer = console.post(url, data={"csrf": csrf, **form})
        assert (answer.status_code, message in answer.text) == (status, True), answer.text
    hotlisted = console.post(f"/console/kartu/{listed.number}/buka-pin", data={"csrf": csrf})
    assert hotlisted.status_code == 409 and "hotlisted: no PIN unblock" in hotlisted.text
    unknown = console.post("/console/kartu/6060019999999996/buka-pin", data={"csrf": csrf})
    assert unknown.status_code == 404
    assert _unblock_orders(world, card.number) == _unblock_orders(world, listed.number) == 0
    assert 'id="unblock-form"' not in console.get(f"/console/kartu/{listed.number}").text

    assert console.post(url, data={"csrf": csrf, "tries": "3", "days": "30"}).status_code == 303
    with transaction(world.gateway.factory) as session:
        applied = pin_unblocks.Applied(card.number, 1, world.terminal.terminal_id, b"r", None)
        pin_unblocks.close(session, [applied], world.now)
    page = console.get(f"/console/kartu/{card.number}").text
    row = re.search(r'<tr id="pin-unblock-1">.*?</tr>', page, re.S)
    assert row and "diterapkan kartu" in row.group(0)
    assert f"di terminal {world.terminal.terminal_id}" in row.group(0)


def test_the_semester_report_and_the_catalog_show_the_journals_figures(
    programs_site: Served, page: Page
) -> None:
    site, base = programs_site, programs_site.server.base_url
    _spent_card(site)
    browser_sign_in(page, base, "auditor")
    page.click("text=Laporan")
    row = page.locator("#report-programs tr", has_text="APBD")
    expect(row).to_contain_text("Rp1.000.000")
    expect(row).to_contain_text("Rp70.000")
    expect(page.locator("svg.bars").first).to_contain_text("APBD dibelanjakan")
    screenshot(page, "report")
    with page.expect_download() as download:
        page.click("#download-csv")
    data = Path(download.value.path()).read_text()
    assert "APBD" in data and "70000" in data
    with page.expect_download() as pdf:
        page.click("#download-pdf")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")

    page.click("text=Katalog")
    expect(page.locator("#catalog")).to_contain_text("Beras Medium 5 kg")
    screenshot(page, "catalog")
