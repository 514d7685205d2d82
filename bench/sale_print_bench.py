"""Benchmark: the sale command's wall time with a slow printer and a queue of waiting jobs,
next to the same sale with no printer at all (the floor, measured in the same run).

    .venv/bin/python bench/sale_print_bench.py [--rounds 3] [--queue 20] [--slow 2.0]
                                                [--print-wait 10]

The counter is tests/fixtures/shop.py (card files through ``sim:``, no pcscd); each sale is
``ssn-terminal sale`` as its own process, as the cashier runs it. The queue is made of earlier
sales whose receipts could not print (the printer refused them). The printer simulator answers
each status request after ``--slow`` seconds, so one job takes longer than the foreground bound:
the sale prints only its own receipt, gives up at the bound, and leaves the queue alone. Reports
when the outcome was on screen, the wall time, the printing part (wall minus floor) against the
bound, and how many queued jobs the sales touched (0). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulators.printer.server import PrinterSimulator
from terminal.home import PASSPHRASE_ENV
from tests.fixtures.shop import PASSPHRASE, Shop

OUTCOME_SHOWN = "  balance BZNS: "
"""The last line of the sale's outcome block."""


@dataclass(frozen=True)
class Timed:
    """One sale command, seconds from its start."""

    shown: float
    """Its outcome is on screen."""
    printed: float | None
    """Its printer line is on screen: the foreground printing is over (None: no printer)."""
    ended: float


def _sale(shop: Shop, card: int, printer: bool) -> Timed:
    start = time.perf_counter()
    sale = shop.spawn(*shop.sale_args(card=card))
    sale.out.wait_for(OUTCOME_SHOWN, timeout=120)
    shown = time.perf_counter() - start
    printed = None
    if printer:
        sale.out.wait_for("printer: ", timeout=120)
        printed = time.perf_counter() - start
    done = sale.finish(timeout=120)
    ended = time.perf_counter() - start
    if done.code != 0 or not done.out.startswith("COMPLETED"):
        raise SystemExit(f"the sale failed: {done.out}{done.err}")
    return Timed(shown, printed, ended)


def _summary(samples: list[float]) -> dict[str, object]:
    return {
        "median_s": round(statistics.median(samples), 3),
        "max_s": round(max(samples), 3),
        "runs_s": [round(s, 3) for s in samples],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queue", type=int, default=20, help="waiting jobs (even: 2 per sale)")
    parser.add_argument("--slow", type=float, default=2.0, help="seconds per status reply")
    parser.add_argument("--print-wait", type=float, default=10.0, help="the foreground bound")
    args = parser.parse_args()
    os.environ[PASSPHRASE_ENV] = PASSPHRASE

    with (
        tempfile.TemporaryDirectory() as tmp,
        PrinterSimulator(Path(tmp) / "paper", png=False) as sim,
    ):
        sim.start_tcp()
        shop = Shop.create(Path(tmp), sim.tcp_url, cards=2)
        shop.configure("--print-wait", str(args.print_wait))
        sim.control("fault refuse")
        for n in range(args.queue // 2):  # earlier sales whose receipts wait
            shop.run(*shop.sale_args(card=n % 2))
        with shop.journal() as journal:
            queued = {job.job_id: (job.attempts, job.sent) for job in journal.pending_jobs()}
        sim.control("clear")

        shop.configure("--no-printer")
        floor = [_sale(shop, card=1, printer=False) for _ in range(args.rounds)]

        shop.configure("--printer", sim.tcp_url)
        sim.control(f"fault slow {args.slow}")
        slow = []
        for _ in range(args.rounds):
            slow.append(_sale(shop, card=0, printer=True))
            sim.wait_no_connections(timeout=120)  # the abandoned job ends before the next sale
        with shop.journal() as journal:
            after = {job.job_id: (job.attempts, job.sent) for job in journal.pending_jobs()}
        touched = sum(1 for job_id, state in queued.items() if after.get(job_id) != state)

    printing = [t.printed - t.shown for t in slow if t.printed is not None]
    wall = [t.ended for t in slow]
    result = {
        "benchmark": "sale command with a slow printer and a queue, against no printer",
        "rounds": args.rounds,
        "queued_jobs": len(queued),
        "printer_status_reply_s": args.slow,
        "foreground_bound_s": args.print_wait,
        "outcome_on_screen_s": _summary([t.shown for t in slow]),
        "foreground_printing_s": _summary(printing),
        "sale_command_wall_s": _summary(wall),
        "floor_sale_without_printer_wall_s": _summary([t.ended for t in floor]),
        "ratio_median_wall_to_floor": round(
            statistics.median(wall) / statistics.median(t.ended for t in floor), 2
        ),
        "foreground_printing_within_bound": max(printing) <= args.print_wait,
        "wall_minus_floor_s": round(
            statistics.median(wall) - statistics.median(t.ended for t in floor), 3
        ),
        "queued_jobs_touched_by_the_sales": touched,
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
