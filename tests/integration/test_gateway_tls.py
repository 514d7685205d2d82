"""HTTPS for real: ``ssn-gateway serve --certfile --keyfile`` and a terminal that trusts only the
CA pinned at enrollment."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.crypto import SigningKey
from terminal.backoff import Backoff
from terminal.cli import main as terminal_main
from terminal.gateway_client import GatewayClient, SyncError, enroll
from tests.fixtures.gateway import Served, SignedClient, now_sale, serve_world
from tests.fixtures.tls import TlsFiles, make_tls


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls(tmp_path / "tls", "gateway")


@pytest.fixture
def served_tls(tmp_path: Path, tls: TlsFiles) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    extra = ("--certfile", str(tls.cert), "--keyfile", str(tls.key))
    server, world = serve_world(url, tmp_path, extra=extra, ca=tls.ca)
    yield Served(server, world)
    server.stop()
    world.gateway.close()


def test_the_gateway_serves_only_https_under_its_certificate(
    served_tls: Served, tls: TlsFiles
) -> None:
    world, base = served_tls.world, served_tls.server.base_url
    assert base.startswith("https://")
    client = SignedClient(base, world.terminal, verify=ssl.create_default_context(cafile=tls.ca))
    card = world.funded_card()
    answer = client.upload([now_sale(world, world.terminal, card)])
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    client.close()
    with pytest.raises(httpx.HTTPError):  # clear text is not spoken on that port
        httpx.get(f"http://127.0.0.1:{served_tls.server.port}/v1/health", timeout=5)
    with pytest.raises(httpx.ConnectError):  # the system's CAs do not know this one
        httpx.get(f"{base}/v1/health", timeout=5)


def test_a_terminal_enrolls_and_syncs_against_the_pinned_ca_and_refuses_any_other(
    served_tls: Served, tls: TlsFiles, tmp_path: Path
) -> None:
    world, base = served_tls.world, served_tls.server.base_url
    pinned = tls.ca.read_text()
    key = SigningKey.generate()
    answer = enroll(base, world.enrollment_code(), key, ca_pem=pinned)
    client = GatewayClient(base, answer.terminal_id, key, ca_pem=pinned)
    assert client.call("GET", "/v1/terminal")["terminal_id"] == answer.terminal_id
    client.close()
    other = make_tls(tmp_path / "other", "impostor").ca.read_text()  # another CA's world
    with pytest.raises(SyncError) as refused:
        enroll(base, world.enrollment_code(), SigningKey.generate(), ca_pem=other)
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    stranger = GatewayClient(
        base, answer.terminal_id, key, ca_pem=other, backoff=Backoff(attempts=1)
    )
    with pytest.raises(SyncError):
        stranger.call("GET", "/v1/terminal")
    stranger.close()


def test_ssn_terminal_init_pins_the_ca_and_sync_uses_it(
    served_tls: Served,
    tls: TlsFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SSN_TERMINAL_PASSPHRASE", "kunci-terminal")
    home = tmp_path / "terminal"
    base = served_tls.server.base_url
    code = served_tls.world.enrollment_code()
    argv = ["init", "--gateway", base, "--code", code, "--data-dir", str(home), "--json"]
    assert terminal_main([*argv, "--gateway-ca", str(tls.ca)]) == 0, capsys.readouterr().err
    enrolled = json.loads(capsys.readouterr().out)
    assert enrolled["first_sync"]["ok"], enrolled
    config = json.loads((home / "terminal.json").read_text())
    assert config["gateway_ca"] == tls.ca.read_text()  # pinned for every later request
    assert terminal_main(["sync", "--data-dir", str(home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    unpinned = ["init", "--gateway", base, "--code", served_tls.world.enrollment_code()]
    assert terminal_main([*unpinned, "--data-dir", str(tmp_path / "t2")]) != 0
    assert "--gateway-ca" in capsys.readouterr().err  # refused before the code is sent
