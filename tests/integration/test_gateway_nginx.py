"""The documented production setup: Debian's nginx with deploy/nginx/ssn-gateway.conf in front of
a gateway on loopback; a terminal syncs through it over HTTPS against its pinned CA."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.request_auth import b64encode
from ledger.wire import IngestRequest
from terminal.gateway_client import GatewayClient
from tests.fixtures.gateway import Served, free_port, now_sale
from tests.fixtures.tls import TlsFiles, make_tls

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "ssn-gateway.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail("nginx is not installed: run scripts/bootstrap (Debian package nginx)")
    return found


def site_config(gateway_port: int, port: int, tls: TlsFiles) -> str:
    """The deployed file with only its ports and certificate paths changed."""
    text = SITE.read_text()
    for old, new in (
        ("server 127.0.0.1:8080;", f"server 127.0.0.1:{gateway_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/ssl/ssn-gateway/gateway.pem", str(tls.cert)),
        ("/etc/ssl/ssn-gateway/gateway.key", str(tls.key)),
    ):
        assert old in text, f"{SITE} no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx(served: Served, tmp_path: Path) -> Iterator[tuple[str, TlsFiles]]:
    binary = nginx_binary()
    tls = make_tls(tmp_path / "tls", "gateway")
    root, port = tmp_path / "nginx", free_port()
    root.mkdir()
    (root / "site.conf").write_text(site_config(served.server.port, port, tls))
    # As root, workers would drop to nobody, who cannot write the test's private directory.
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(
        f"{user} daemon off; worker_processes 1; pid {root}/nginx.pid;\n"
        f"error_log {root}/error.log;\n"
        "events {}\n"
        f"http {{ access_log off; client_body_temp_path {root}/body; proxy_temp_path {root}/p;"
        f" fastcgi_temp_path {root}/f; uwsgi_temp_path {root}/u; scgi_temp_path {root}/s;"
        f" include {root}/site.conf; }}\n"
    )
    process = subprocess.Popen([binary, "-p", str(root), "-c", str(root / "nginx.conf")])
    base = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    with httpx.Client(verify=ssl.create_default_context(cafile=tls.ca), timeout=1) as probe:
        while True:
            try:
                if probe.get(f"{base}/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
                process.kill()
                pytest.fail(f"nginx did not come up in front of the gateway:\n{log}")
            time.sleep(0.1)
    yield base, tls
    process.send_signal(signal.SIGQUIT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_terminal_syncs_through_nginx_over_https(
    served: Served, nginx: tuple[str, TlsFiles]
) -> None:
    base, tls = nginx
    world = served.world
    client = GatewayClient(
        base, world.terminal.terminal_id, world.terminal.key, ca_pem=tls.ca.read_text()
    )
    card = world.funded_card()
    sale = now_sale(world, world.terminal, card)
    payload = {"records": [{"id": str(sale.id), "data": b64encode(sale.encode())}]}
    answer = client.call("POST", "/v1/records", IngestRequest.model_validate(payload))
    assert answer["accepted"] == 1
    # The signature covers the path with its query exactly as sent: nginx passes it unchanged.
    updates = client.updates({"catalog": 0, "config": 0, "hotlist": 0, "loads": 0}, 2)
    assert updates.catalog is not None
    client.close()
    too_large = httpx.post(
        f"{base}/v1/records",
        content=b" " * (4 * 1024 * 1024 + 1),
        verify=ssl.create_default_context(cafile=tls.ca),
        timeout=30,
    )
    assert too_large.status_code == 413  # refused by nginx, in the API's error shape
    error = too_large.json()["error"]
    assert error["code"] == "too_large" and abs(error["host_time"] - time.time()) < 60
    assert too_large.headers["ssn-host-time"] == str(error["host_time"])
    served.server.stop()  # the gateway down: nginx answers in the API's shape, retryable
    down = httpx.get(f"{base}/v1/health", verify=ssl.create_default_context(cafile=tls.ca))
    assert down.status_code == 503 and down.json()["error"]["code"] == "busy"
    assert down.headers["retry-after"] == "5"
