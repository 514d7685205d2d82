"""Benchmark: compose a sale receipt and print it on the simulated printer over TCP.

    .venv/bin/python bench/receipt_bench.py [--rounds 200] [--paper 80]

Each round composes the customer copy of a three-line sale and sends it with the real driver
(fresh connection, DLE EOT status before and after, the simulator answering only after it has
taken the whole job). The floor, measured in the same run, sends the same pre-composed bytes:
the ratio is what composing costs on top of the printer round trip. The simulator runs as its
own process (``python -m simulators.printer serve``), as a printer would. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.printer.printer import open_printer
from terminal.receipts.compose import compose_sale
from terminal.receipts.config import ReceiptConfig, profile_for_paper
from terminal.receipts.model import Copy
from tests.fixtures.printer import sale_receipt

TARGET_P50_MS = 20.0


def _timings(rounds: int, action: Callable[[], object]) -> list[float]:
    for _ in range(max(rounds // 10, 3)):  # warm up: imports, caches, TCP paths
        action()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--paper", type=int, choices=(58, 80), default=80)
    args = parser.parse_args()

    config = ReceiptConfig(profile_for_paper(args.paper))
    receipt = sale_receipt()
    with tempfile.TemporaryDirectory() as out:
        sim = subprocess.Popen(
            [
                *(sys.executable, "-m", "simulators.printer", "serve", "--tcp", "127.0.0.1:0"),
                *("--out", out, "--paper", str(args.paper), "--no-png", "--json"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert sim.stdout is not None
            lines: list[str] = []
            while not lines or lines[-1] != "}\n":
                lines.append(sim.stdout.readline())
                if not lines[-1]:
                    raise SystemExit("printer simulator did not start")
            printer = open_printer("tcp://" + json.loads("".join(lines))["tcp"])
            data = compose_sale(receipt, Copy.CUSTOMER, config)

            def compose_and_send() -> object:
                return printer.print_job(compose_sale(receipt, Copy.CUSTOMER, config))

            measured = _timings(args.rounds, compose_and_send)
            floor = _timings(args.rounds, lambda: printer.print_job(data))
            compose_only = _timings(
                args.rounds, lambda: compose_sale(receipt, Copy.CUSTOMER, config)
            )
        finally:
            sim.send_signal(signal.SIGTERM)
            sim.wait(timeout=30)

    result = {
        "benchmark": "receipt compose + send over TCP to the printer simulator",
        "paper_mm": args.paper,
        "rounds": args.rounds,
        "receipt_bytes": len(data),
        "compose_and_send": _summary(measured),
        "floor_send_precomposed": _summary(floor),
        "compose_only": _summary(compose_only),
        "ratio_p50_to_floor": round(statistics.median(measured) / statistics.median(floor), 2),
        "target_p50_ms": TARGET_P50_MS,
        "meets_target": statistics.median(measured) <= TARGET_P50_MS,
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
