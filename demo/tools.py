"""Running the project's own commands from the demo, exactly as an operator would type them.

Commands run in this process (``main(argv)`` with output captured) so a seed of ~50 commands
takes seconds, not a minute of interpreter start-ups; the gateway server is the one real
separate process, because terminals must reach it over HTTP.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from host_gateway.cli import main as gateway_main
from simulators.cli import main as sim_main
from terminal.cli import main as terminal_main

Main = Callable[[Sequence[str] | None], int]
TOOLS: dict[str, Main] = {
    "ssn-gateway": gateway_main,
    "ssn-terminal": terminal_main,
    "ssn-sim": sim_main,
}


class DemoError(Exception):
    """A step of the demo failed: the message names the command and what it said."""


def run(tool: str, *argv: str, json_flag: bool = True) -> Any:
    """Run ``tool argv --json`` in-process and return its JSON answer."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = TOOLS[tool]([*argv, "--json"] if json_flag else list(argv))
        except SystemExit as exc:  # argparse refusing the arguments
            code = exc.code if isinstance(exc.code, int) else 2
    if code != 0:
        said = (err.getvalue() or out.getvalue()).strip()
        raise DemoError(f"`{tool} {' '.join(argv)}` failed (exit {code}): {said}")
    return json.loads(out.getvalue())


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0


def start_process(argv: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child in its own session (Ctrl-C reaches only the demo, which stops it in order)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        return subprocess.Popen(
            list(argv),
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )


def command(tool: str, *argv: str) -> list[str]:
    """The console script installed next to this interpreter (the venv's ``bin``)."""
    return [str(Path(sys.executable).parent / tool), *argv]


def wait_for_gateway(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float = 30.0,
    verify: ssl.SSLContext | bool = True,
) -> None:
    deadline = time.monotonic() + timeout
    # One client for all polls: each new client builds a TLS context (tens of ms of CPU taken
    # from the gateway that is starting on the same cores).
    with httpx.Client(timeout=1.0, verify=verify) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(f"the gateway exited with code {process.returncode}; see its log")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{url}/v1/health").status_code == 200:
                    return
            time.sleep(0.1)
    raise DemoError(f"the gateway did not answer at {url} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not stop in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
