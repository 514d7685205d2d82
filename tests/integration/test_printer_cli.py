"""``ssn-sim printer serve`` as a process: TCP, pty and the documented control channel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.printer.errors import PrinterNotReadyError
from drivers.printer.printer import open_printer
from simulators.printer.cli import control_call


def test_serve_prints_over_tcp_and_pty_and_obeys_its_control_channel(tmp_path: Path) -> None:
    out = tmp_path / "paper"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "simulators.printer", "serve", "--tcp", "127.0.0.1:0"),
            *("--pty", "--control", "127.0.0.1:0", "--out", str(out), "--paper", "58", "--json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            lines.append(proc.stdout.readline())
            assert lines[-1], "the simulator exited before saying where it listens"
        where = json.loads("".join(lines))
        host, port = where["control"].split(":")
        control = (host, int(port))

        assert open_printer(f"tcp://{where['tcp']}").print_job(b"\x1b@over tcp\n\x1dVB\x00")
        assert open_printer(f"serial://{where['pty']}").print_job(b"\x1b@over pty\n\x1dVB\x00")
        assert control_call(control, "fault cover_open")["faults"]["cover_open"] is True
        with pytest.raises(PrinterNotReadyError):
            open_printer(f"tcp://{where['tcp']}").print_job(b"\x1b@not printed\n\x1dVB\x00")
        assert control_call(control, "bogus")["ok"] is False
        bad_values = [("paper_after", "-1"), ("drop_after", "many"), ("slow", "nan")]
        for name, bad in [*bad_values, ("after_cut", "refuse"), ("after_cut", "bogus")]:
            refused = control_call(control, f"fault {name} {bad}")
            assert refused["ok"] is False and f"{name} takes" in refused["error"], refused
        assert control_call(control, "state")["faults"]["slow"] == 0.0, "a refusal changes nothing"
        empty = control_call(control, "fault paper_after 0")["faults"]  # no line left: out now
        assert empty["paper_end"] is True and empty["paper_after"] is None
        jobs = control_call(control, "jobs")["jobs"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0

    assert [(j["transport"], j["complete"]) for j in jobs] == [("tcp", True), ("pty", True)]
    assert (out / "job-000001.txt").read_text() == "over tcp\n"
    assert (out / "job-000002.txt").read_text() == "over pty\n"
    assert (out / "job-000002.png").read_bytes().startswith(b"\x89PNG")
    log = [json.loads(line) for line in (out / "simulator.log").read_text().splitlines()]
    assert any(e["event"] == "control" and e["command"] == "fault cover_open" for e in log)
