"""The console in a real headless chromium against a real gateway process (``ssn-gateway
serve``): what an operator sees and can do, per role. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from host_gateway.db import transaction
from host_gateway.models import JournalEntry, JournalLine, Terminal
from host_gateway.web.roles import Role
from ledger.reference import RecordRef
from tests.fixtures.browser import browser_sign_in, screenshot
from tests.fixtures.console import FULL_NAMES, add_operators, username
from tests.fixtures.gateway import Served, now_sale, serve_world


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Served]:
    """A gateway process with the console, a shop, a terminal and one operator per role."""
    server, world = serve_world(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    add_operators(world)
    yield Served(server, world)
    server.stop()
    world.gateway.close()


def test_each_role_signs_in_and_sees_only_its_menu(site: Served, page: Page) -> None:
    base = site.server.base_url
    for role, name in FULL_NAMES.items():
        browser_sign_in(page, base, username(role))
        expect(page.locator("#who")).to_contain_text(name)
        expect(page.locator("h1")).to_contain_text("Dasbor")
        menu = page.locator("header nav a").all_inner_texts()
        assert ("Pengguna" in menu) == (role is Role.ADMIN), (role, menu)
        assert ("Log audit" in menu) == (role in {Role.ADMIN, Role.AUDITOR}), (role, menu)
        screenshot(page, f"dashboard-{role.value}")


def test_a_role_cannot_open_another_roles_page_or_post_its_action(site: Served, page: Page) -> None:
    base, terminal = site.server.base_url, site.world.terminal.terminal_id
    browser_sign_in(page, base, "auditor")
    page.goto(base + "/console/pengguna")
    expect(page.locator("h1")).to_have_text("Akses ditolak")
    screenshot(page, "refused-auditor")
    page.goto(base + "/console/toko")
    expect(page.locator("#terminals")).to_contain_text(terminal)
    assert page.locator(f"#revoke-{terminal}").count() == 0  # no button for the auditor
    # The auditor forges the admin's revoke form with its own valid session token.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    page.set_content(
        f'<form method="post" action="{base}/console/terminal/{terminal}/cabut">'
        f'<input name="csrf" value="{token}"><input name="reason" value="x"></form>'
    )
    page.evaluate("document.forms[0].submit()")
    expect(page.locator("h1")).to_have_text("Akses ditolak")
    with transaction(site.world.gateway.factory) as session:
        assert session.get_one(Terminal, terminal).revoked_at is None


def test_csrf_a_form_from_another_site_changes_nothing(site: Served, page: Page) -> None:
    base, terminal = site.server.base_url, site.world.terminal.terminal_id
    browser_sign_in(page, base, "admin")
    page.set_content(  # another origin: no CSRF token, and the session cookie is SameSite
        f'<form method="post" action="{base}/console/terminal/{terminal}/cabut">'
        '<input name="reason" value="dicuri"></form>'
    )
    page.evaluate("document.forms[0].submit()")
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text(re.compile("Masuk ke konsol|Akses ditolak"))
    with transaction(site.world.gateway.factory) as session:
        assert session.get_one(Terminal, terminal).revoked_at is None


def test_lockout_holds_in_the_browser(site: Served, page: Page) -> None:
    base = site.server.base_url
    for _ in range(5):
        browser_sign_in(page, base, "approver", "bukan-sandinya-1")
    browser_sign_in(page, base, "approver")  # the right password, too late
    expect(page.locator(".error")).to_contain_text("Akun terkunci")
    screenshot(page, "locked")
    browser_sign_in(page, base, "admin")
    page.goto(base + "/console/pengguna")
    expect(page.locator("#users")).to_contain_text("terkunci")
    page.locator("#users tr", has_text="approver").get_by_role("button", name="Buka kunci").click()
    browser_sign_in(page, base, "approver")
    expect(page.locator("#who")).to_contain_text(FULL_NAMES[Role.APPROVER])


def test_admin_enrolls_and_revokes_a_terminal_and_the_audit_log_shows_it(
    site: Served, page: Page
) -> None:
    base, world = site.server.base_url, site.world
    terminal = world.terminal.terminal_id
    browser_sign_in(page, base, "admin")
    page.click("text=Toko & terminal")
    page.click(f"#code-{world.shop_id}")
    code = page.locator("#enroll-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    screenshot(page, "enroll-code")
    page.goto(base + "/console/toko")
    page.locator("#terminals tr", has_text=terminal).locator("input[name=reason]").fill("hilang")
    page.click(f"#revoke-{terminal}")
    expect(page.locator("#terminals tr", has_text=terminal)).to_contain_text("dicabut")
    screenshot(page, "shops")
    page.click("text=Log audit")
    expect(page.locator("#audit")).to_contain_text(f"admin: terminals revoke {terminal}: hilang")
    expect(page.locator("#audit")).to_contain_text(f"admin: enroll-code for shop {world.shop_id}")
    screenshot(page, "audit")
    answer = site.client().request("GET", "/v1/terminal")  # the terminal API honours it
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "terminal_revoked"


def test_dashboard_figures_match_the_journal(site: Served, page: Page) -> None:
    world = site.world
    card = world.funded_card()
    sales = [now_sale(world, world.terminal, card) for _ in range(2)]
    upload = site.client().upload(sales)  # over HTTP, as a terminal does
    assert upload.json()["accepted"] == 2
    with transaction(world.gateway.factory) as session:
        paid = -int(
            session.scalar(
                select(func.sum(JournalLine.amount))
                .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                .where(JournalEntry.kind == "sale", JournalLine.account.like("shop:%"))
            )
            or 0
        )
    assert paid == 140_000
    browser_sign_in(page, site.server.base_url, "settlement")
    expect(page.locator("#sales-today")).to_have_text("Rp140.000")
    expect(page.locator("#shops-online")).to_have_text("1 / 1")
    apbd = page.locator("#programs tr", has_text="APBD").locator("td")
    assert apbd.all_inner_texts()[1:6] == [
        "Rp140.000", "Rp1.000.000", "Rp1.000.000", "Rp860.000", "Rp140.000",
    ]  # fmt: skip
    assert page.locator("svg.bars rect").count() >= 2
    screenshot(page, "dashboard-figures")


def test_anyone_checks_a_receipt_by_its_qr_without_signing_in(site: Served, page: Page) -> None:
    world = site.world
    card = world.funded_card()
    sale = now_sale(world, world.terminal, card)
    assert site.client().upload([sale]).json()["accepted"] == 1
    qr = RecordRef(sale.terminal_id, sale.seq, sale.id, sale.hash()).qr_payload()
    page.goto(site.server.base_url + "/console/cek")
    page.fill("input[name=q]", qr)
    page.click("button[type=submit]")
    expect(page.locator("#verdict")).to_contain_text("Struk asli")
    expect(page.locator("#total")).to_have_text("Rp70.000")
    body = page.locator("main").inner_text()
    assert card.number not in body and "Siti" not in body
    screenshot(page, "receipt-check")
