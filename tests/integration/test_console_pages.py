"""Who reaches which console route (every route, every role, by URL and by POST), the public
receipt check, and the dashboard's figures against the journal. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from host_gateway.db import transaction
from host_gateway.models import EnrollmentCode, Event, JournalEntry, JournalLine, Shop, Terminal
from host_gateway.programs import aid
from host_gateway.web.app import ROUTERS
from host_gateway.web.guard import Need
from host_gateway.web.models import ConsoleUser
from host_gateway.web.roles import GRANTS, Role, allowed
from ledger.reference import RecordRef
from tests.fixtures.console import csrf_of, sign_in, username
from tests.fixtures.gateway import FakeClock, World, void_record
from tests.fixtures.programs import define_programs, recipient_with_card
from tests.unit.test_settlement_payouts import closed_day_with_two_shops, prepare
from tests.unit.test_settlement_windows import DAY

PUBLIC = {("GET", "/masuk"), ("POST", "/masuk"), ("GET", "/cek")}


def _routes() -> list[tuple[str, str, Need | None]]:
    found = []
    for route in (r for router in ROUTERS for r in router.routes):
        if isinstance(route, APIRoute):
            guards = [d.call for d in route.dependant.dependencies if isinstance(d.call, Need)]
            for method in route.methods:
                found.append((method, route.path, guards[0] if guards else None))
    return found


def test_every_route_is_guarded_or_deliberately_public() -> None:
    routes = _routes()
    assert len(routes) >= 8
    for method, path, guard in routes:
        assert (guard is None) == ((method, path) in PUBLIC), (method, path)
    assert set(GRANTS) >= {guard.permission for _, _, guard in routes if guard}
    auditor_posts = {
        p for m, p, g in routes if m == "POST" and g and allowed(Role.AUDITOR, g.permission)
    }
    assert auditor_posts == {"/keluar"}  # read-only: signing out is all it may post


def _snapshot(world: World) -> tuple[Any, ...]:
    """What any console action would change (every change is also an operator event)."""
    with transaction(world.gateway.factory) as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return (
            session.scalar(select(func.count()).where(Event.code == "operator")),
            count(Shop),
            count(EnrollmentCode),
            count(ConsoleUser),
            session.scalar(select(func.count()).where(Terminal.revoked_at.is_not(None))),
            session.scalar(select(func.count()).where(ConsoleUser.disabled)),
        )


def _something_of_everything(world: World, clock: FakeClock) -> dict[str, str]:
    """A recipient with a card, a prepared aid batch, a closed window with a prepared payout:
    every page with a path parameter has something to show."""
    define_programs(world)
    recipient_id, card = recipient_with_card(world, 1)
    with transaction(world.gateway.factory) as session:
        batch = aid.prepare(session, "APBD", "2026-11", "putri", world.now).batch.id
    closed_day_with_two_shops(world, clock)
    prepare(world)
    return {
        "recipient_id": str(recipient_id),
        "batch_id": str(batch),
        "day": DAY.isoformat(),
        "number": card.number,
        "year": "2026",
        "half": "2",
        "kind": "csv",
        "release_id": "1",
    }


def test_each_role_reaches_only_its_pages_and_actions_by_url_and_post(
    world: World, clock: FakeClock, console: TestClient
) -> None:
    params = {
        "shop_id": world.shop_id,
        "terminal_id": world.terminal.terminal_id,
        "username": "auditor",
        "action": "nonaktif",
        **_something_of_everything(world, clock),
    }
    form = {"name": "Toko Baru", "kind": "mitra", "reason": "uji", "username": "baru.sekali",
            "full_name": "Orang Baru", "role": "admin", "password": "sandi-baru-12345"}  # fmt: skip
    guarded = [(m, p, g) for m, p, g in _routes() if g is not None]
    for role in Role:
        assert sign_in(console, username(role)) == 303
        csrf = csrf_of(console)
        before = _snapshot(world)
        for method, path, guard in guarded:
            url = "/console" + re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)
            may = allowed(role, guard.permission)
            if method == "GET":
                answer = console.get(url)
                assert answer.status_code == (200 if may else 403), (role, url)
            elif not may:
                answer = console.post(url, data={**form, "csrf": csrf})
                assert answer.status_code == 403, (role, method, url)
                assert "Akses ditolak" in answer.text
        assert _snapshot(world) == before, role
        menu = console.get("/console/").text
        assert ('href="/console/pengguna"' in menu) == (role is Role.ADMIN)
        assert ('href="/console/audit"' in menu) == (role in {Role.ADMIN, Role.AUDITOR})


def test_admin_actions_change_the_gateway_and_are_audited(
    world: World, console: TestClient
) -> None:
    assert sign_in(console, "admin") == 303
    csrf = csrf_of(console)
    answer = console.post("/console/toko", data={"csrf": csrf, "name": "e-Warong Loa Bakung",
                                                 "kind": "ewarong"})  # fmt: skip
    assert answer.status_code == 303
    page = console.get("/console/toko").text
    assert "e-Warong Loa Bakung" in page
    shop_id = re.findall(r"<td>(S\d{4})</td><td>e-Warong Loa Bakung", page)[0]
    code_page = console.post(f"/console/toko/{shop_id}/kode", data={"csrf": csrf})
    code = re.search(r'id="enroll-code">([A-Z0-9-]+)<', code_page.text)
    assert code and len(code.group(1)) == 14
    bad = console.post("/console/toko", data={"csrf": csrf, "name": "X", "kind": "warung"})
    assert bad.status_code == 400 and "shop kind must be one of" in bad.text
    audit = console.get("/console/audit").text
    assert f"admin: shops add {shop_id}" in audit
    assert f"admin: enroll-code for shop {shop_id}" in audit


def _qr(record: Any) -> str:
    return RecordRef(record.terminal_id, record.seq, record.id, record.hash()).qr_payload()


def test_receipt_check_says_genuine_and_what_was_paid_but_nothing_of_the_holder(
    world: World, console: TestClient
) -> None:
    card = world.funded_card()
    sale = world.terminal.sell(card)
    other = world.terminal.sell(card)
    assert [r.status for r in world.ingest([sale, other]).results] == ["accepted"] * 2
    page = console.get("/console/cek", params={"q": _qr(sale)}).text
    assert "Struk asli" in page and "Beras Medium 5 kg" in page
    assert 'id="total">Rp70.000<' in page
    assert "Mitra Bebaya Mart Sempaja" in page
    for private in (card.number, card.number[-4:], "Siti", "APBD", "BZNS"):
        assert private not in page
    forged = _qr(sale)[:-2] + ("00" if not _qr(sale).endswith("00") else "11")
    assert "Struk tidak cocok" in console.get("/console/cek", params={"q": forged}).text
    void, _ = void_record(world.terminal, card, other)
    assert world.ingest([void]).results[0].status == "accepted"
    assert "transaksi dibatalkan" in console.get("/console/cek", params={"q": _qr(other)}).text
    unsynced = world.terminal.sell(card)
    assert "Tidak ditemukan" in console.get("/console/cek", params={"q": _qr(unsynced)}).text
    assert "bukan kode QR" in console.get("/console/cek", params={"q": "halo"}).text


@pytest.mark.parametrize("sales", [3])
def test_dashboard_sales_today_match_the_journal(
    world: World, console: TestClient, sales: int
) -> None:
    card = world.funded_card()
    records = [world.terminal.sell(card) for _ in range(sales)]
    assert all(r.status == "accepted" for r in world.ingest(records).results)
    with transaction(world.gateway.factory) as session:
        booked = session.scalar(
            select(func.sum(JournalLine.amount))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(JournalEntry.kind == "sale", JournalLine.account.like("shop:%"))
        )
    assert booked == -70_000 * sales
    assert sign_in(console, "auditor") == 303
    page = console.get("/console/").text
    assert f'id="sales-today">Rp{70_000 * sales // 1000}.000<' in page
    assert f"{sales} transaksi, 0 batal" in page
    assert 'id="shops-online">0 / 1<' in page  # its terminal never called the API itself
    offline = re.search(r'<table id="offline">.*?</table>', page, re.DOTALL)
    assert offline and world.terminal.terminal_id in offline.group(0)
    assert "belum pernah" in offline.group(0)
    row = re.search(r"<tr><td>APBD</td>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]+)</td>', row.group(1))
    assert cells[:6] == ["Rp210.000", "Rp1.000.000", "Rp1.000.000", "Rp790.000", "Rp210.000",
                         "Rp0"]  # fmt: skip
