"""The seeded demo system: idempotent seed, cards and gateway agreeing, a sale on every terminal
through real pcscd reaching the gateway, and ``ssn-demo up`` starting and stopping cleanly."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.catalog import DEMO_ITEMS
from demo.seed import DEMO_ENV
from tests.fixtures.card import VPCD_READER, CardServer

BIN = Path(sys.executable).parent
RICE_5KG = next(i.gtin for i in DEMO_ITEMS if i.name == "Beras Medium 5 kg")
OIL = next(i.gtin for i in DEMO_ITEMS if i.name == "Minyakita 1 L")
CIGARETTES = next(i.gtin for i in DEMO_ITEMS if i.name == "Rokok Kretek 12 batang")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tool(name: str, *argv: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [str(BIN / name), *argv, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **DEMO_ENV, **(env or {})},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name} {' '.join(argv)}: {done.stderr}"
    return json.loads(done.stdout)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file's SHA-256, databases by their content (a WAL checkpoint moves bytes, not
    rows), logs aside: what "changes nothing" is measured by."""
    digests = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "logs" in path.parts:
            continue
        if path.name.endswith(("-wal", "-shm")):
            continue
        if path.read_bytes()[:16] == b"SQLite format 3\x00":
            digests[str(path.relative_to(root))] = _database_digest(path)
        else:
            digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _database_digest(path: Path) -> str:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()
    finally:
        connection.close()


class Seeded:
    def __init__(self, root: Path, value: dict[str, Any]) -> None:
        self.root, self.value = root, value
        self.gateway_dir = value["gateway"]["data_dir"]

    def gateway(self, *argv: str) -> Any:
        return tool("ssn-gateway", *argv, "--data-dir", self.gateway_dir)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("demo") / "data"
    ports = ["--gateway-port", str(free_port()), "--printer-port", str(free_port())]
    first = tool("ssn-demo", "seed", "--data-dir", str(root), *ports)
    return Seeded(root, first)


def test_seed_twice_changes_nothing(seeded: Seeded) -> None:
    before = tree_digest(seeded.root)
    ports = ["--gateway-port", "1", "--printer-port", "2"]  # unused: nothing is left to do
    again = tool("ssn-demo", "seed", "--data-dir", str(seeded.root), *ports)
    assert again["changed"] == []
    assert tree_digest(seeded.root) == before
    assert again["cards"] == seeded.value["cards"]


def test_seed_json_matches_the_cards_and_the_gateway(seeded: Seeded) -> None:
    cards = seeded.value["cards"]
    assert len(cards) == 10 and len(seeded.value["shops"]) == 3
    assert sum("BZNS" in c["balances"] for c in cards) == 4  # BAZNAS: some holders only
    for card in cards:
        shown = subprocess.run(
            [str(BIN / "ssn-sim"), "card", "show", card["state_file"]],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        on_card = json.loads(shown.stdout)
        assert on_card["card_number"] == card["number"]
        balances = {p["code"]: p["balance"] for p in on_card["purses"]}
        assert balances == card["balances"]
        assert balances["APBD"] == 200_000 and balances.get("BZNS", 100_000) == 100_000
        at_gateway = seeded.gateway("cards", "show", card["number"])
        assert {code: p["shadow"] for code, p in at_gateway["purses"].items()} == balances
        assert at_gateway["pending_loads"] == []
    check = seeded.gateway("check")
    assert check["ok"] is True, check
    assert check["purses_checked"] == 14
    for shop in seeded.value["shops"]:
        assert (Path(shop["terminal_data_dir"]) / "terminal.json").exists()


@pytest.fixture
def gateway(seeded: Seeded) -> Iterator[str]:
    url = seeded.value["gateway"]["url"]
    port = url.rsplit(":", 1)[1]
    process = subprocess.Popen(
        [str(BIN / "ssn-gateway"), "serve", "--data-dir", seeded.gateway_dir, "--port", port],
        env={**os.environ, **DEMO_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", int(port))) == 0:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "gateway did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.pcscd
def test_a_sale_on_each_terminal_through_pcscd_reaches_the_gateway(
    seeded: Seeded, card_server: CardServer, gateway: str
) -> None:
    sales = []
    for shop, card in zip(seeded.value["shops"], seeded.value["cards"], strict=False):
        card_server.call("swap", state=card["state_file"])
        outcome = tool(
            "ssn-terminal", "sale", "--data-dir", shop["terminal_data_dir"],
            "--reader", VPCD_READER, "--pin", card["pin"],
            "--items", f"{RICE_5KG},{OIL}x2,{CIGARETTES}", "--wait", "10",
        )  # fmt: skip
        assert outcome["status"] == "completed", outcome
        assert outcome["card_total"] == 70_000 + 2 * 15_700
        assert [r["gtin"] for r in outcome["refused_lines"]] == [CIGARETTES]
        sales.append((shop, card, outcome))
    card_server.call("remove")
    for shop, card, outcome in sales:
        report = tool("ssn-terminal", "sync", "--data-dir", shop["terminal_data_dir"])
        assert report["ok"] is True and report["outbox"] == 0, report
        received = seeded.gateway("records", "list", "--card", card["number"])
        sale = [r for r in received if r["type"] == "sale"]
        assert len(sale) == 1
        assert sale[0]["id"] == outcome["record_id"]
        assert sale[0]["terminal"] == shop["terminal_id"]
        assert sale[0]["status"] == "accepted"
        assert -sum(sale[0]["purses"].values()) == 101_400
        shadow = seeded.gateway("cards", "show", card["number"])["purses"]
        on_card = {b["code"]: b["balance"] for b in outcome["balances_after"]}
        assert {code: p["shadow"] for code, p in shadow.items()} == on_card
    assert seeded.gateway("check")["ok"] is True


@pytest.mark.pcscd
@pytest.mark.slow
def test_up_serves_the_demo_card_prints_and_stops_cleanly(
    tmp_path: Path, card_server: CardServer
) -> None:
    card_server.stop()  # `up` puts the demo card in slot 0 itself
    try:
        run_up(tmp_path / "data")
    finally:
        card_server.start(card_server.directory / "first.json")


def run_up(root: Path) -> None:
    ports = ["--gateway-port", str(free_port()), "--printer-port", str(free_port())]
    up = subprocess.Popen(
        [str(BIN / "ssn-demo"), "up", "--data-dir", str(root), *ports],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **DEMO_ENV},
    )
    assert up.stdout is not None
    try:
        lines = []
        for line in up.stdout:
            lines.append(line)
            if line.startswith("Other cards"):
                break
        text = "".join(lines)
        assert "SSN demo is up" in text, text
        assert f'pcscd reader "{VPCD_READER}"' in text
        sale_line = next(x for x in lines if " sale --data-dir" in x)
        argv = sale_line.split()[1:]
        terminal = next(x for x in lines if x.strip().startswith("T=")).strip()[2:]
        argv = [terminal if a == "$T" else a for a in argv]
        outcome = tool("ssn-terminal", *argv)
        assert outcome["status"] == "completed", outcome
        assert outcome["printed"] is True, outcome
        receipts = sorted((root / "receipts").glob("*.txt"))
        assert receipts, "no receipt reached the printer simulator"
        assert "STRUK BELANJA" in receipts[0].read_text(encoding="utf-8")
        assert list((root / "receipts").glob("*.png"))
        # The operator scans the receipt's QR once the sale is synced: it finds the record.
        job = json.loads(receipts[0].with_suffix(".json").read_text(encoding="utf-8"))
        (scanned,) = job["qr"]
        synced = tool("ssn-terminal", "sync", "--data-dir", terminal)
        assert synced["ok"] is True, synced
        found = tool(
            "ssn-gateway", "records", "show", scanned,
            "--data-dir", str(root / "gateway"),
        )  # fmt: skip
        assert found["id"] == outcome["record_id"] and found["receipt_matches"] is True
        forged = scanned[:-1] + ("0" if scanned[-1] != "0" else "1")
        refused = subprocess.run(
            [str(BIN / "ssn-gateway"), "records", "show", forged, "--data-dir", f"{root}/gateway"],
            capture_output=True, text=True, env={**os.environ, **DEMO_ENV}, check=False,
        )  # fmt: skip
        assert refused.returncode == 1 and "does NOT match" in refused.stderr
        children = _children(up.pid)
        assert len(children) == 3, children  # gateway, printer, card simulators
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=30)
    assert up.returncode == 0, rest
    assert "stopped" in rest
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"child {pid} still runs"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
