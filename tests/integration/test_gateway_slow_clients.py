"""Slow and stalled clients against a real ``ssn-gateway serve`` process over real sockets, and
a write lock held while the public reads, refused strangers and ``check`` are asked.

The server runs with ``--client-timeout 0.5``: request headers must arrive within 0.5 s, a body
may pause at most 0.5 s and must arrive within 12 × 0.5 = 6 s. Deadlines are asserted with a
margin of 2 s for a loaded machine; nothing else is timed.
"""

from __future__ import annotations

import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from host_gateway.api.server import MAX_WAITING
from ledger.crypto import SigningKey
from ledger.request_auth import sign_request
from tests.fixtures.gateway import Served, now_sale, serve_world

TIMEOUT = 0.5
DEADLINE = 12 * TIMEOUT
MARGIN = 2.0


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    server, world = serve_world(url, tmp_path, extra=("--client-timeout", str(TIMEOUT)))
    yield Served(server, world)
    server.stop()
    world.gateway.close()


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    server, world = serve_world(url, tmp_path)
    yield Served(server, world)
    server.stop()
    world.gateway.close()


def connect(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.server.port), timeout=5)


def closed(sock: socket.socket) -> bool:
    """Whether the server closed the connection (whatever it answered first is read away)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionError:
        return True


def answer_of(sock: socket.socket, wait: float = DEADLINE + MARGIN) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(wait)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_forty_connections_trickling_headers_are_closed_at_the_header_deadline(
    strict: Served,
) -> None:
    socks = [connect(strict) for _ in range(40)]
    started = time.monotonic()
    open_ = list(socks)
    request = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    sent = 0
    while open_ and time.monotonic() - started < TIMEOUT + MARGIN:
        for sock in list(open_):
            try:
                sock.sendall(request[sent : sent + 1])
            except ConnectionError:
                open_.remove(sock)
                continue
            if closed(sock):
                open_.remove(sock)
        sent += 1
        time.sleep(0.05)
    assert not open_, f"{len(open_)} trickling connections still open"
    assert httpx.get(f"{strict.server.base_url}/v1/health").status_code == 200
    for sock in socks:
        sock.close()


def test_forty_uploads_stalled_one_byte_short_get_408_at_the_pause_limit(strict: Served) -> None:
    size = 1024 * 1024
    head = (
        f"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    socks = [connect(strict) for _ in range(40)]
    for sock in socks:
        sock.sendall(head + b" " * (size - 1))
    stalled = time.monotonic()
    answers = [answer_of(sock) for sock in socks]
    assert time.monotonic() - stalled < TIMEOUT + MARGIN
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"code":"timeout"' in answer
    for sock in socks:
        sock.close()


def rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def test_forty_uploads_stalled_one_byte_short_of_4_mib_hold_no_memory(plain: Served) -> None:
    """Buffered, they held ~4 MiB each (+160 MB); spooled, their bytes wait on disk."""
    assert plain.server.proc is not None
    pid, size = plain.server.proc.pid, 4 * 1024 * 1024
    head = (
        f"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    before = rss_mb(pid)
    socks = [connect(plain) for _ in range(40)]
    for sock in socks:
        sock.sendall(head + b" " * (size - 1))
    time.sleep(1)  # let the server take what was sent
    assert rss_mb(pid) - before < 40
    for sock in socks:
        assert answer_of(sock, 10 + MARGIN).startswith(b"HTTP/1.1 408")  # the default pause
        sock.close()


def test_a_body_trickled_below_the_pause_limit_is_cut_at_the_body_deadline(
    strict: Served,
) -> None:
    sock = connect(strict)
    sock.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    started = time.monotonic()
    while not closed(sock) and time.monotonic() - started < DEADLINE + MARGIN:
        try:
            sock.sendall(b" ")
        except ConnectionError:
            break
        time.sleep(TIMEOUT / 3)
    assert time.monotonic() - started < DEADLINE + MARGIN
    sock.close()


def test_a_held_write_lock_stalls_no_read_no_refusal_and_no_check(plain: Served) -> None:
    world, base = plain.world, plain.server.base_url
    database = world.gateway.engine.url.database
    assert database is not None
    holder = sqlite3.connect(database, isolation_level=None)
    events_before = holder.execute("SELECT count(*) FROM events").fetchone()[0]
    holder.execute("BEGIN IMMEDIATE")  # as a 34 s ingest would
    stranger, victim = SigningKey.generate(), world.terminal.terminal_id
    statuses: list[int] = []

    def flood() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            for n in range(20):
                body = b'{"records": []}'
                path = "/v1/records"
                headers = sign_request(stranger, victim, "POST", path, body, int(time.time()))
                statuses.append(client.post(path, content=body, headers=headers).status_code)
                statuses.append(client.get(f"/v1/terminal?n={n}").status_code)

    try:
        threads = [threading.Thread(target=flood) for _ in range(10)]
        for thread in threads:
            thread.start()
        health = httpx.get(f"{base}/v1/health", timeout=10)
        check = subprocess.run(
            [sys.executable, "-m", "host_gateway", "check", "--db", str(world.gateway.engine.url)],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        for thread in threads:
            thread.join()
    finally:
        holder.rollback()
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert check.returncode == 0, check.stderr
    assert statuses == [401] * 400
    assert holder.execute("SELECT count(*) FROM events").fetchone()[0] == events_before
    holder.close()
    card = world.funded_card()
    client = plain.client()
    upload = client.upload([now_sale(world, world.terminal, card)])
    assert upload.status_code == 200 and upload.json()["accepted"] == 1
    assert "server" not in upload.headers  # no banner
    assert upload.headers["x-content-type-options"] == "nosniff"
    client.close()


def test_silent_connections_past_the_cap_are_closed_at_once(plain: Served) -> None:
    socks = [connect(plain) for _ in range(MAX_WAITING + 8)]
    time.sleep(0.5)  # the server accepts them all
    refused = [sock for sock in socks if closed(sock)]
    assert len(refused) >= 8  # the ones past the cap, long before the 10 s header deadline
    for sock in socks:
        sock.close()
    time.sleep(0.5)
    assert httpx.get(f"{plain.server.base_url}/v1/health").status_code == 200
