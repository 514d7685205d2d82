"""The console's sign-in, sessions, CSRF and lockout, on SQLite and PostgreSQL, through the
real app in process (the browser tests drive the same pages in chromium)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from host_gateway.db import transaction
from host_gateway.models import Event, Terminal
from host_gateway.web import sessions, users
from host_gateway.web.roles import Role
from tests.fixtures.console import (
    FULL_NAMES,
    PASSWORD,
    csrf_of,
    sign_in,
    sign_in_answer,
    username,
)
from tests.fixtures.gateway import World


def _events(world: World, code: str) -> list[str]:
    with transaction(world.gateway.factory) as session:
        return list(session.scalars(select(Event.message).where(Event.code == code)))


def test_each_role_signs_in_and_sees_its_name(world: World, console: TestClient) -> None:
    for role, name in FULL_NAMES.items():
        assert sign_in(console, username(role)) == 303
        page = console.get("/console/")
        assert page.status_code == 200
        assert name in page.text
    assert sum("signed in to the console" in m for m in _events(world, "operator")) == 6


def test_without_a_session_every_page_sends_to_sign_in(console: TestClient) -> None:
    answer = console.get("/console/toko")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/masuk?next=/console/toko"


def test_wrong_password_is_refused_without_saying_which_part(console: TestClient) -> None:
    assert sign_in(console, "admin", "salah-sekali-123") == 401
    assert sign_in(console, "nobody", PASSWORD) == 401
    assert console.get("/console/").status_code == 303


def test_lockout_after_repeated_failures_then_time_or_admin_lifts_it(
    world: World, console: TestClient
) -> None:
    for _ in range(users.MAX_FAILURES):
        assert sign_in(console, "auditor", "bukan-sandinya-1") == 401
    locked = sign_in_answer(console, "auditor")  # the right password, but locked
    assert locked.status_code == 401
    assert "Akun terkunci" in locked.text
    assert any("auditor" in m for m in _events(world, "console_lockout"))
    world.gateway.clock.now += users.LOCK_SECONDS + 1  # type: ignore[attr-defined]
    assert sign_in(console, "auditor") == 303
    for _ in range(users.MAX_FAILURES):
        sign_in(console, "approver", "bukan-sandinya-1")
    with transaction(world.gateway.factory) as session:
        users.unlock(session, "admin", "approver", world.now)
    assert sign_in(console, "approver") == 303


def test_session_ends_when_idle_and_at_its_lifetime(world: World, console: TestClient) -> None:
    clock = world.gateway.clock
    assert sign_in(console, "admin") == 303
    clock.now += sessions.IDLE_SECONDS - 60  # type: ignore[attr-defined]
    assert console.get("/console/").status_code == 200
    clock.now += sessions.IDLE_SECONDS + 1  # type: ignore[attr-defined]
    assert console.get("/console/").status_code == 303
    assert sign_in(console, "admin") == 303
    for _ in range(sessions.LIFETIME_SECONDS // (sessions.IDLE_SECONDS // 2)):
        clock.now += sessions.IDLE_SECONDS // 2  # type: ignore[attr-defined]
        console.get("/console/")
    assert console.get("/console/").status_code == 303


def test_sign_out_ends_the_session(console: TestClient) -> None:
    assert sign_in(console, "admin") == 303
    cookie = console.cookies.get("ssn_console")
    assert console.post("/console/keluar", data={"csrf": csrf_of(console)}).status_code == 303
    console.cookies.set("ssn_console", cookie or "", path="/console")
    assert console.get("/console/").status_code == 303


def test_a_post_without_the_session_csrf_token_changes_nothing(
    world: World, console: TestClient
) -> None:
    terminal = world.terminal.terminal_id
    assert sign_in(console, "admin") == 303
    for data in ({"reason": "dicuri"}, {"reason": "dicuri", "csrf": "palsu"}):
        answer = console.post(f"/console/terminal/{terminal}/cabut", data=data)
        assert answer.status_code == 403
        assert "kedaluwarsa" in answer.text
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Terminal, terminal).revoked_at is None
    assert len(_events(world, "console_denied")) == 2
    answer = console.post(
        f"/console/terminal/{terminal}/cabut", data={"reason": "dicuri", "csrf": csrf_of(console)}
    )
    assert answer.status_code == 303
    with transaction(world.gateway.factory) as session:
        assert session.get_one(Terminal, terminal).revoked_at == world.now
    assert f"admin: terminals revoke {terminal}: dicuri" in _events(world, "operator")


def test_a_disabled_operator_is_signed_out_at_the_next_request(
    world: World, console: TestClient
) -> None:
    assert sign_in(console, "auditor") == 303
    with transaction(world.gateway.factory) as session:
        users.set_disabled(session, "admin", "auditor", True, world.now)
    assert console.get("/console/").status_code == 303
    assert sign_in(console, "auditor") == 401


def test_role_names_are_checked(world: World) -> None:
    from host_gateway.errors import GatewayError

    with transaction(world.gateway.factory) as session:
        try:
            users.add_user(session, "t", "someone", "Some One", "root", PASSWORD, world.now)
        except GatewayError as exc:
            assert "role must be one of" in exc.message
        else:
            raise AssertionError("an unknown role was accepted")
    assert Role.AUDITOR.value == "auditor"
