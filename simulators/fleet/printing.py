"""A shop's receipt printer during its day (the shop process's side of it).

The printer is a simulated one that outlives the terminal (printers.py); the terminal prints to
it through the same :class:`PrintQueue` as ``ssn-terminal`` (terminal/cli/runtime.py
``till_for``). The plan can give a shop-day a printer fault: it strikes right before the first
receipt printed at or after its visit (so it always meets a job), and the cashier fixes it a
few visits later (or at the day's end), then catches up what waited: the shop's paper
(``print_now``) and the holders' paper, which the queue holds, under its header
(``print_held``). Each step is logged, so a terminal killed with SIGKILL and restarted knows
whether the fault already struck or was fixed.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from terminal.receipts.config import ReceiptConfig
from terminal.receipts.model import Language
from terminal.receipts.printlock import PrinterLock
from terminal.receipts.queue import HeldPolicy, PrintQueue
from terminal.receipts.reports import QueueReport
from terminal.sale import Outcome, Till

if TYPE_CHECKING:
    from simulators.fleet.shop import Log
    from terminal.home import TerminalHome

FAULTS = ("paper_out", "cover_open", "dropped_connection", "offline", "status_lost")
"""What the plan can do to a printer: the paper runs out after some lines (mid-job), the cover
is opened, the link drops after some bytes (mid-job), the printer goes offline, the link drops
right after a cut (the receipt is whole on paper, its status never comes back)."""


@dataclass(frozen=True)
class PrinterFault:
    kind: str
    """One of :data:`FAULTS`."""
    at: int
    """The visit from which it strikes (at the next receipt); the visit count: the day close."""
    fixed_at: int
    """The visit before which the cashier fixes it (at the day's end when past the last)."""
    amount: int = 0
    """Lines of paper left (``paper_out``), bytes before the link drops (``dropped_connection``)."""

    def command(self) -> str:
        """The simulator's control command for it."""
        return {
            "paper_out": f"fault paper_after {self.amount}",
            "cover_open": "fault cover_open",
            "dropped_connection": f"fault drop_after {self.amount}",
            "offline": "fault offline",
            "status_lost": "fault after_cut drop",
        }[self.kind]

    @property
    def counter(self) -> str:
        """Its name among the run's faults."""
        return f"printer_{self.kind}"


def control(address: str, line: str, timeout: float = 5.0) -> dict[str, Any]:
    """One command to a printer simulator's control channel (``HOST:PORT``); its answer."""
    host, _, port = address.rpartition(":")
    with (
        socket.create_connection((host, int(port)), timeout=timeout) as conn,
        conn.makefile("rw", encoding="utf-8", newline="\n") as stream,
    ):
        stream.write(line + "\n")
        stream.flush()
        answer: dict[str, Any] = json.loads(stream.readline())
    if not answer.get("ok"):
        raise RuntimeError(f"printer control {address} refused {line!r}: {answer}")
    return answer


def print_queue(home: TerminalHome, clock: Callable[[], int]) -> PrintQueue | None:
    """The terminal's print queue as ``till_for`` builds it (same lock files, held policy and
    foreground bound from the config), its times on the fleet's clock."""
    config = home.config
    if not config.printer_url:
        return None
    from drivers.printer.printer import open_printer

    return PrintQueue(
        home.journal,
        open_printer(config.printer_url, language=config.receipt_language),
        config=ReceiptConfig(language=Language(config.receipt_language)),
        lock=PrinterLock(home.paths.data_dir),
        held=HeldPolicy(config.held_receipts),
        foreground_seconds=config.print_wait_seconds,
        wall_clock=clock,
    )


def print_receipts(till: Till, log: Log, op: str, visit: int, outcome: Outcome) -> Outcome:
    """After the outcome is logged (the cashier saw it), its receipts print in front of the
    holder, as the command line does; one log line says how (none when nothing prints)."""
    printed = till.print_receipts(outcome)
    if printed.receipt_jobs and till.print_queue is not None:
        log.write(kind="print", op=op, visit=visit, jobs=list(printed.receipt_jobs),
                  printed=printed.printed, message=printed.print_message)  # fmt: skip
    return printed


class CounterPrinter:
    """The till's printer port (:class:`terminal.sale.ports.ForegroundPrinter`): the print queue,
    with the day's planned fault struck before the receipt it is meant to meet."""

    def __init__(
        self,
        queue: PrintQueue,
        log: Log,
        control_address: str | None,
        fault: PrinterFault | None,
        earlier: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.queue = queue
        self.log = log
        self.control_address = control_address
        self.fault = fault
        self.struck = any(e.get("kind") == "printer_fault" for e in earlier)
        self.fixed = any(e.get("kind") == "printer_fixed" for e in earlier)
        self.visit = 0

    @property
    def foreground_seconds(self) -> float:
        return self.queue.foreground_seconds

    def serving(self) -> contextlib.AbstractContextManager[None]:
        return self.queue.serving()

    def interrupted(self, job_ids: Sequence[int]) -> str:
        return self.queue.interrupted(job_ids)

    def print_foreground(self, job_ids: Sequence[int], seconds: float | None = None) -> QueueReport:
        fault = self.fault
        if fault is not None and not self.struck and self.visit >= fault.at:
            self._control(fault.command())
            self.log.write(kind="printer_fault", fault=fault.kind, visit=self.visit)
            self.struck = True
        return self.queue.print_foreground(job_ids, seconds)

    def before_visit(self, index: int) -> None:
        """The next holder steps up; the cashier fixes the printer when it is time."""
        self.visit = index
        if (
            self.fault is not None
            and self.struck
            and not self.fixed
            and index >= self.fault.fixed_at
        ):
            self.fix()

    def fix(self) -> None:
        self._control("clear")
        self.log.write(kind="printer_fixed", visit=self.visit)
        self.fixed = True
        self.catch_up("fixed")

    def day_end(self) -> None:
        """After the day close: a fault still on is fixed, and everything that waits prints."""
        if self.fault is not None and self.struck and not self.fixed:
            self.fix()
        self.catch_up("day_end")

    def catch_up(self, why: str) -> None:
        """What waited prints now: the shop's paper in the background's order, then the holders'
        paper under its header (the queue never prints it unasked)."""
        background = self.queue.print_now()
        held = self.queue.print_held()
        self.log.write(
            kind="print_catch_up",
            why=why,
            printed=[*background.printed, *held.printed],
            message=held.message or background.message,
            pending=held.pending,
        )

    def _control(self, line: str) -> None:
        if self.control_address is not None:
            control(self.control_address, line)
