"""The shops' receipt printers for a whole fleet run, in one process of their own:
``python -m simulators.fleet.printers --out DIR --count N``.

A printer is a device beside the terminal: it outlives the terminal's kill -9, keeps its faults
and its paper (``DIR/NNNN/job-NNNNNN.txt`` and ``.json``, for the paper proof, paper.py). Each
is a :class:`PrinterSimulator` on 127.0.0.1 (ESC/POS over TCP, and its control channel); their
addresses go to stdout as one JSON line; SIGTERM stops them all. :class:`Printers` is the
coordinator's handle on the process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from simulators.fleet.host import FleetError
from simulators.fleet.printing import control
from terminal.home import TerminalHome

PRINT_WAIT_SECONDS = 3.0
"""The terminals' foreground bound: a printer that does not answer cannot stall the run."""


def printer_dir(out: Path, shop: int) -> Path:
    """Where the printer of shop number ``shop`` (from 0) leaves its paper."""
    return out / f"{shop + 1:04d}"


@dataclass(frozen=True)
class Printer:
    url: str
    """``tcp://127.0.0.1:PORT``: the terminal's ``printer_url``."""
    control: str
    """``127.0.0.1:PORT``: faults, clear, jobs."""
    out: Path


class Printers:
    """The printers' process as the coordinator runs it: started once, stopped in its finally."""

    def __init__(self, process: subprocess.Popen[str], printers: list[Printer]) -> None:
        self.process = process
        self.printers = printers

    @classmethod
    def start(cls, out: Path, count: int, env: Mapping[str, str]) -> Printers:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulators.fleet.printers", "--out", str(out),
             "--count", str(count)],
            env=dict(env), stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait()
            raise FleetError(f"the printers did not start (exit {process.returncode})")
        found = [Printer(p["url"], p["control"], Path(p["out"])) for p in json.loads(line)]
        return cls(process, found)

    def attach(self, home: Path, shop: int) -> None:
        """The terminal's config names its printer (``ssn-terminal configure --printer``)."""
        with TerminalHome.open(home) as opened:
            config = dataclasses.replace(
                opened.config,
                printer_url=self.printers[shop].url,
                print_wait_seconds=PRINT_WAIT_SECONDS,
            )
            opened.save_config(config)

    def fix_all(self) -> None:
        """Every printer working: faults cleared, paper in, cover closed."""
        for printer in self.printers:
            control(printer.control, "clear")

    def settle(self) -> None:
        """Wait until every printer has written each job it printed."""
        for printer in self.printers:
            control(printer.control, "jobs", timeout=30.0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def serve(out: Path, count: int) -> int:
    from simulators.printer.server import PrinterSimulator

    simulators = []
    found = []
    for shop in range(count):
        simulator = PrinterSimulator(printer_dir(out, shop), png=False)
        simulators.append(simulator)
        host, port = simulator.start_tcp("127.0.0.1", 0)
        control_host, control_port = simulator.start_control("127.0.0.1", 0)
        found.append({"url": f"tcp://{host}:{port}", "control": f"{control_host}:{control_port}",
                      "out": str(printer_dir(out, shop))})  # fmt: skip
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    sys.stdout.write(json.dumps(found) + "\n")
    sys.stdout.flush()
    done.wait()
    for simulator in simulators:
        simulator.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    return serve(args.out, args.count)


if __name__ == "__main__":
    raise SystemExit(main())
