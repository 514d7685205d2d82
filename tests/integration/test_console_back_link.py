"""The console's error and refusal pages lead back to the console page the operator came from
(its Referer, on this host), else to the console's home: never to another host, never outside
the console, whatever a forged Referer says. The console asks browsers to send the Referer to
itself only. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.console import csrf_of, sign_in
from tests.fixtures.gateway import World

UNKNOWN_CARD = "/console/kartu/6060019999999999"
HOST = "http://testserver"


def _back(answer_text: str) -> str:
    found = re.search(r'<a href="([^"]*)" id="back">', answer_text)
    assert found, "the page has a way back"
    return found.group(1)


def test_an_error_leads_back_to_the_console_page_it_came_from(
    world: World, console: TestClient
) -> None:
    assert sign_in(console, "auditor") == 303
    came_from = f"{HOST}/console/kartu?q=6060&page=2"
    answer = console.get(UNKNOWN_CARD, headers={"Referer": came_from})
    assert answer.status_code == 404 and "Tidak ada yang diubah" in answer.text
    assert _back(answer.text) == "/console/kartu?q=6060&amp;page=2"  # a path, escaped
    assert "Kembali ke halaman sebelumnya" in answer.text
    assert answer.headers["Referrer-Policy"] == "same-origin"

    plain = console.get(UNKNOWN_CARD)  # no Referer (typed, or a browser that sends none)
    assert _back(plain.text) == "/console/" and "Kembali ke dasbor" in plain.text


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.example/console/kartu",  # another host
        "http://testserver.evil.example/console/",  # a host that starts like ours
        "http://evil.example@testserver/console/",  # credentials: not the same netloc
        "//evil.example/console/",  # scheme-relative
        "/console/kartu",  # not a URL a browser sends
        "javascript:alert(1)//testserver/console/",
        "http://testserver/v1/terminal",  # this host, not the console
        "http://testserver/consolex/",
        "http://testserver/console/../v1/terminal",  # out of the console by dot segments
        "http://testserver/console/%2e%2e/v1/terminal",
        "http://testserver/console/\\evil.example",
        "http://testserver/console/\r\nSet-Cookie: x=1",
    ],
)
def test_a_referer_elsewhere_leads_to_the_console_home(
    world: World, console: TestClient, referer: str
) -> None:
    assert sign_in(console, "auditor") == 303
    answer = console.get(UNKNOWN_CARD, headers={"Referer": referer})
    assert answer.status_code == 404
    assert _back(answer.text) == "/console/"
    assert "evil" not in answer.text


def test_a_refusal_leads_back_too(world: World, console: TestClient) -> None:
    assert sign_in(console, "auditor") == 303
    came_from = f"{HOST}/console/settlement/ditahan"
    refused = console.post(
        "/console/settlement/ditahan/lepaskan",
        data={"csrf": csrf_of(console), "record": "X/1", "reason": "uji"},
        headers={"Referer": came_from},
    )
    assert refused.status_code == 403 and "Akses ditolak" in refused.text
    assert _back(refused.text) == "/console/settlement/ditahan"
    elsewhere = console.get("/console/pengguna", headers={"Referer": "https://evil.example/"})
    assert elsewhere.status_code == 403 and _back(elsewhere.text) == "/console/"
