"""Network faults between terminal and host, and kill -9 of the host during ingest: after
recovery every record is at the host exactly once and the books balance.

A small TCP proxy in front of a real gateway process drops connections, delays them, cuts a
request half-way and cuts a response half-way (the host committed, the terminal never heard).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from host_gateway import postings
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.models import Account, StoredRecord
from ledger.record import Record
from tests.fixtures.gateway import (
    Served,
    ServerProcess,
    SignedClient,
    World,
    free_port,
    now_sale,
)

PASS, DROP, DELAY, CUT_REQUEST, CUT_RESPONSE = (
    "pass",
    "drop",
    "delay",
    "cut-request",
    "cut-response",
)


class FaultyProxy:
    """Relays 127.0.0.1:port to the gateway; each new connection takes the next fault mode."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.modes: deque[str] = deque()
        self.seen: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            mode = self.modes.popleft() if self.modes else PASS
            self.seen.append(mode)
            threading.Thread(target=self._serve, args=(client, mode), daemon=True).start()

    def _serve(self, client: socket.socket, mode: str) -> None:
        if mode == DROP:
            client.close()
            return
        if mode == DELAY:
            time.sleep(0.3)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return
        limit_up = 40 if mode == CUT_REQUEST else None
        limit_down = 30 if mode == CUT_RESPONSE else None
        pumps = [
            threading.Thread(target=_pump, args=(client, upstream, limit_up), daemon=True),
            threading.Thread(target=_pump, args=(upstream, client, limit_down), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join(timeout=60)
        client.close()
        upstream.close()


def _pump(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
    sent = 0
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if limit is not None and sent + len(data) >= limit:
                sink.sendall(data[: limit - sent])
                break
            sink.sendall(data)
            sent += len(data)
    except OSError:
        pass
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def upload_until_held(client: SignedClient, records: list[Record], batch: int) -> int:
    """The terminal's outbox loop: resend until the host says it holds every record.

    Returns how many attempts failed in transit."""
    pending = {r.id: r for r in records}
    failures = 0
    for attempt in itertools.count():
        if not pending:
            return failures
        if attempt > 400:
            pytest.fail(f"{len(pending)} records never reached the host")
        chunk = list(pending.values())[:batch]
        try:
            response = client.upload(chunk)
        except httpx.TransportError:
            failures += 1
            time.sleep(min(0.01 * 2 ** min(failures, 4), 0.1))
            continue
        if response.status_code != 200:
            failures += 1
            time.sleep(0.05)
            continue
        for result in response.json()["results"]:
            if result["stored"]:
                pending.pop(next(r.id for r in chunk if str(r.id) == result["id"]), None)
    return failures


def assert_exactly_once(world: World, records: list[Record], price: int) -> None:
    with transaction(world.gateway.factory) as session:
        held = session.scalars(
            select(StoredRecord.id).where(StoredRecord.terminal_id == world.terminal.terminal_id)
        ).all()
        statuses = session.execute(
            select(StoredRecord.status, func.count()).group_by(StoredRecord.status)
        ).all()
        shop = session.scalar(
            select(Account.balance).where(Account.code == postings.shop(world.shop_id))
        )
        report = run_check(session)
    sent = {r.id.bytes for r in records}
    assert sent <= set(held)
    assert len(held) == len(set(held)) == len(records) + 1  # + the load record
    assert dict(statuses) == {"accepted": len(records) + 1}
    assert shop == -price * len(records)
    assert report.ok, report.discrepancies


@pytest.fixture
def proxied(served: Served) -> Iterator[tuple[Served, FaultyProxy]]:
    proxy = FaultyProxy(served.server.port)
    yield served, proxy
    proxy.close()


def test_drops_delays_and_cuts_lose_and_double_nothing(
    proxied: tuple[Served, FaultyProxy],
) -> None:
    served, proxy = proxied
    world = served.world
    card = world.funded_card(50_000_000)
    records = [now_sale(world, world.terminal, card) for _ in range(120)]
    proxy.modes.extend([DROP, CUT_RESPONSE, DELAY, CUT_REQUEST, CUT_RESPONSE, PASS, DROP] * 3)
    client = SignedClient(f"http://127.0.0.1:{proxy.port}", world.terminal, timeout=5)
    failures = upload_until_held(client, records, batch=20)
    client.close()
    assert failures >= 12  # the faults did happen
    assert proxy.seen.count(CUT_RESPONSE) == 6
    assert_exactly_once(world, records, 70_000)


def test_kill_9_of_the_host_during_ingest(served: Served) -> None:
    world, server = served.world, served.server
    server.stop()
    server.workers = 2  # verifier processes too: kill -9 takes the whole group
    server.start()
    card = world.funded_card(500_000_000)
    records = [now_sale(world, world.terminal, card) for _ in range(1_500)]
    client = SignedClient(server.base_url, world.terminal, timeout=10)
    outcome: dict[str, int] = {}

    def terminal_side() -> None:
        outcome["failures"] = upload_until_held(client, records, batch=250)

    upload_through_kills(world, server, [501, 1_001], terminal_side, timeout=120)
    client.close()
    assert outcome["failures"] >= 2
    assert_exactly_once(world, records, 70_000)


def held_records(world: World) -> int:
    with transaction(world.gateway.factory) as session:
        return int(session.scalar(select(func.count()).select_from(StoredRecord)) or 0)


def upload_through_kills(
    world: World,
    server: ServerProcess,
    counts: list[int],
    upload: Callable[[], None],
    timeout: float,
) -> None:
    """Run ``upload`` (a terminal side) in a thread while the host is killed with -9 (server
    and verifier workers) and restarted each time it holds more than the next of ``counts``
    records (or after a minute of waiting); the upload must finish within ``timeout``."""
    uploader = threading.Thread(target=upload)
    uploader.start()
    for count in counts:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and held_records(world) <= count:
            time.sleep(0.005)
        server.kill()
        time.sleep(0.2)
        server.start()
    uploader.join(timeout=timeout)
    assert not uploader.is_alive(), "the upload did not finish after the kills"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


def test_verifier_workers_follow_a_killed_host(served: Served) -> None:
    """kill -9 of the gateway process alone (not its group, as the OOM killer does): its
    verifier processes must not live on. Each holds both ends of its task pipe, so without the
    watch on the parent they would wait for work forever."""
    world, server = served.world, served.server
    server.stop()
    server.workers = 2
    server.start()
    assert server.proc is not None
    client = SignedClient(server.base_url, world.terminal, timeout=10)
    card = world.funded_card(10_000_000)
    assert client.upload([now_sale(world, world.terminal, card) for _ in range(80)]).is_success
    client.close()
    workers = _children(server.proc.pid)
    assert len(workers) >= 2  # two verifiers (and multiprocessing's resource tracker)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
