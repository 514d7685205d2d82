"""Cards and reports in a real chromium against ``ssn-gateway serve``: a card's purses and
history, hotlisting one and closing another (its money back to the program), the semester
report with its chart and files, the catalog with its HET ceilings."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from host_gateway.db import transaction
from host_gateway.models import Account, Event
from tests.factories import FakeCard
from tests.fixtures.browser import browser_sign_in, screenshot
from tests.fixtures.gateway import Served, load_record, now_sale
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
