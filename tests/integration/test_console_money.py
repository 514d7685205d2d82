"""The console's money pages in a real chromium against ``ssn-gateway serve``: recipients
imported with their errors shown, aid prepared and approved by two operators (the same one
refused), a window closed and its payout released by two operators, the bank's answers imported
and seen paid or rejected. Each asserts what the operator sees and what the journal holds."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from host_gateway import postings, shops
from host_gateway.db import transaction
from host_gateway.models import Account, Event
from host_gateway.settlement import accounts
from ledger.verify import WITA, business_date
from simulators.bank import bank
from tests.fixtures.browser import browser_sign_in, screenshot
from tests.fixtures.gateway import Served, load_record
from tests.fixtures.programs import (
    csv_file,
    nik,
    recipient_count,
    recipient_with_card,
    row,
)
from tests.unit.test_gateway_continuity import other_shop
from tests.unit.test_settlement_windows import bank as shop_account


def balance(site: Served, code: str) -> int:
    with transaction(site.world.gateway.factory) as session:
        return int(session.scalar(select(Account.balance).where(Account.code == code)) or 0)


def payable(site: Served, shop_id: str) -> int:
    with transaction(site.world.gateway.factory) as session:
        return shops.payable(session, shop_id)


def audit_lines(site: Served) -> list[str]:
    with transaction(site.world.gateway.factory) as session:
        return list(session.scalars(select(Event.message).where(Event.code == "operator")))


def test_recipients_import_shows_each_bad_row_and_imports_only_when_told(
    programs_site: Served, page: Page
) -> None:
    site = programs_site
    base = site.server.base_url
    data = csv_file(
        row(1),
        row(2, kelurahan="Antah Berantah"),
        "6472060000000000,647206,Salah,Jl. X,Sempaja Selatan,Samarinda Utara,Islam,APBD",
        row(4, programs="BZNS", religion="Kristen"),
        row(5),
    )
    upload = {"name": "portal.csv", "mimeType": "text/csv", "buffer": data}
    browser_sign_in(page, base, "data-officer")
    page.click("text=Penerima")
    page.set_input_files("input[name=file]", upload)
    page.click("#check")
    expect(page.locator("#report-summary")).to_contain_text("5 baris, 2 baru")
    bad = page.locator("#bad-rows tbody tr")
    expect(bad).to_have_count(3)
    assert page.locator("#bad-rows tbody td.num").all_inner_texts() == ["3", "4", "5"]
    expect(bad.nth(0)).to_contain_text("kelurahan")
    expect(bad.nth(2)).to_contain_text("not eligible for BZNS")
    screenshot(page, "recipients-check")
    assert recipient_count(site.world) == 0

    page.set_input_files("input[name=file]", upload)
    page.click("#import-all")
    expect(page.locator("#import-error")).to_contain_text("nothing imported")
    assert recipient_count(site.world) == 0  # all or none

    page.set_input_files("input[name=file]", upload)
    page.click("#import-good")
    expect(page.locator("#report-summary")).to_contain_text("disimpan")
    assert recipient_count(site.world) == 2
    listing = page.locator("#recipients")
    expect(listing).to_contain_text("647206********01")
    assert nik(1) not in page.content()  # masked until revealed
    screenshot(page, "recipients")

    page.locator("#recipients tr", has_text="Warga 1 ").locator("input[name=reason]").fill(
        "pengaduan warga no. 12"
    )
    page.click("#reveal-1")
    expect(page.locator("#nik")).to_have_text(nik(1))
    assert "data-officer: reveal NIK of recipient 1: pengaduan warga no. 12" in audit_lines(site)
    assert "data-officer: recipients import portal.csv: 2 new, 0 unchanged, 3 excluded" in (
        audit_lines(site)
    )

    browser_sign_in(page, base, "program-officer")  # sees the list, cannot reveal or import
    page.goto(base + "/console/penerima")
    expect(page.locator("#recipients")).to_contain_text("647206********01")
    assert page.locator("#reveal-1").count() == 0 and page.locator("#import-form").count() == 0


def _period() -> str:
    return business_date(int(time.time())).strftime("%Y-%m")


def test_aid_is_prepared_and_approved_by_two_operators_and_the_same_one_is_refused(
    programs_site: Served, page: Page
) -> None:
    site = programs_site
    base, world = site.server.base_url, site.world
    recipient_with_card(world, 1)
    _, both = recipient_with_card(world, 2, programs="APBD;BZNS")
    browser_sign_in(page, base, "program-officer")
    page.click("text=Program & bantuan")
    expect(page.locator("#programs")).to_contain_text("Rp200.000")
    page.select_option("#prepare-form select[name=program]", "APBD")
    page.fill("#prepare-form input[name=period]", _period())
    page.click("#prepare")
    expect(page.locator("#count-prepared")).to_have_text("2")
    expect(page.locator("#approved-by")).to_contain_text("belum disetujui")
    assert page.locator("#approve").count() == 0  # the maker has no approve button
    batch_url = page.url
    assert balance(site, "pending:APBD") == 0

    browser_sign_in(page, base, "approver")
    page.goto(batch_url)
    page.click("#approve")
    expect(page.locator("#approved-by")).to_have_text("approver")
    expect(page.locator("#count-pending")).to_have_text("2")
    expect(page.locator("#waiting")).to_contain_text("no terminal has served the card yet")
    screenshot(page, "aid-approved")
    assert -balance(site, "pending:APBD") == 400_000  # two cards x Rp200,000 owed to cards

    browser_sign_in(page, base, "admin")  # prepares BZNS, then tries to approve it too
    page.goto(base + "/console/program")
    page.select_option("#prepare-form select[name=program]", "BZNS")
    page.fill("#prepare-form input[name=period]", _period())
    page.click("#prepare")
    expect(page.locator("#count-prepared")).to_have_text("1")
    page.click("#approve")
    expect(page.locator(".error")).to_contain_text("another operator than who prepared them")
    screenshot(page, "aid-same-operator")
    assert balance(site, "pending:BZNS") == 0
    browser_sign_in(page, base, "approver")
    page.goto(base + "/console/program")
    page.locator("#batches tr", has_text="BZNS").locator("a").click()
    page.click("#approve")
    expect(page.locator("#approved-by")).to_have_text("approver")
    assert -balance(site, "pending:BZNS") == 100_000
    assert both.number in page.locator("#waiting").inner_text()


def _yesterday_sales(site: Served) -> tuple[dt.date, str]:
    """Yesterday (WITA) at noon: a card loaded and used at two shops; shop B's account is
    unknown at the bank. The giro account is funded in the books and at the bank."""
    world = site.world
    day = business_date(int(time.time())) - dt.timedelta(days=1)
    noon = int(dt.datetime.combine(day, dt.time(12), WITA).timestamp())
    world.gateway.clock.now = noon  # type: ignore[attr-defined]
    mine = world.enroll()  # certificates valid from yesterday on
    other, other_id = other_shop(world)
    card = world.card()
    load = load_record(mine, card, world.authorize(card, 1_000_000), noon - 60)
    shop_account(world, world.shop_id)
    shop_account(world, other_id, "9876543210")
    sale = mine.sell(card, time=noon)
    assert [r.status for r in world.ingest([load, sale], mine).results] == ["accepted"] * 2
    sales = [other.sell(card, time=noon + 60), other.sell(card, time=noon + 120)]
    assert [r.status for r in world.ingest(sales, terminal=other).results] == ["accepted"] * 2
    with transaction(world.gateway.factory) as session:
        accounts.set_giro(session, "BPDKIDJ1", "0011223344", "Dinas Sosial Kota Samarinda")
        funding = postings.Entry("funding", "giro funding for APBD")
        postings.post(session, noon, [funding.transfer(postings.GIRO, "fund:APBD", 1_000_000)])
    world.gateway.clock.now = int(time.time())  # type: ignore[attr-defined]
    return day, other_id


def test_a_window_is_closed_paid_out_by_two_operators_and_reconciled_with_the_bank(
    programs_site: Served, page: Page, tmp_path: Path
) -> None:
    site = programs_site
    base, world = site.server.base_url, site.world
    day, other_id = _yesterday_sales(site)
    browser_sign_in(page, base, "settlement")
    page.click("text=Settlement")
    page.fill("#close-form input[name=day]", day.isoformat())
    page.click("#close")
    expect(page.locator(f"#payout-{world.shop_id}")).to_have_text("Rp70.000")
    expect(page.locator(f"#payout-{other_id}")).to_have_text("Rp140.000")
    expect(page.locator("#payout-total")).to_have_text("Rp210.000")
    page.click("#prepare")
    expect(page.locator("#payout-state")).to_contain_text("menunggu rilis")
    assert page.locator("#release").count() == 0  # the maker cannot release
    window_url = page.url
    assert payable(site, world.shop_id) == 0  # instructed: out of the shop's payable

    browser_sign_in(page, base, "approver")
    page.goto(window_url)
    page.click("#release")
    expect(page.locator("#payout-state")).to_contain_text("dirilis oleh approver")
    with page.expect_download() as download:
        page.click("#download-xml")
    xml = Path(download.value.path()).read_bytes()
    assert b"pain.001.001.03" in xml and f"SSN{day:%Y%m%d}{other_id}".encode() in xml
    with page.expect_download() as csv_download:
        page.click("#download-csv")
    assert b"9876543210" in Path(csv_download.value.path()).read_bytes()
    screenshot(page, "window-released")

    state = bank.new_bank("0011223344", "BPDKIDJ1", "Dinas Sosial Kota Samarinda")
    bank.fund(state, 1_000_000, "APBD 2026-S2", int(time.time()) - 3600)
    state.accounts["1234567890"] = bank.Account("BRINIDJA", "Toko Sembako Makmur")
    answers = []
    for output in bank.submit(state, xml, int(time.time())):
        answers.append(tmp_path / f"{output.name}.xml")
        answers[-1].write_bytes(output.data)

    browser_sign_in(page, base, "settlement")
    page.goto(base + "/console/settlement")
    page.set_input_files("#bank-form input[name=files]", [str(p) for p in answers])
    page.click("#bank-import")
    results = page.locator("#import-results")
    expect(results).to_contain_text(f"SSN{day:%Y%m%d}{other_id}: AC01 account unknown")
    expect(results).to_contain_text(f"SSN{day:%Y%m%d}{world.shop_id}")
    paid = page.locator("#payouts tr", has_text=f"SSN{day:%Y%m%d}{world.shop_id}")
    expect(paid).to_contain_text("paid")
    rejected = page.locator("#payouts tr", has_text=f"SSN{day:%Y%m%d}{other_id}")
    expect(rejected).to_contain_text("AC01 account unknown")
    expect(page.locator("#giro-journal")).to_have_text("Rp930.000")
    expect(page.locator("#giro-bank")).to_have_text("Rp930.000")
    expect(page.locator("#books-ok")).to_contain_text("cocok")
    screenshot(page, "settlement-reconciled")
    assert balance(site, "giro") == 930_000
    assert payable(site, other_id) == 140_000 and payable(site, world.shop_id) == 0
    assert f"approver: settlement release {day} by approver" in audit_lines(site)
