"""``ssn-terminal print`` (what waits for the background, once; ``--held`` the held holder's
receipts; ``--watch`` the print service) and ``ssn-terminal reprint RECORD_ID``.

``print --watch`` is the terminal's print service: run it beside the cashier's commands (a
systemd unit, say); it prints what waits whenever the printer can, with backoff, and says what
the printer's condition is. One service per terminal; SIGINT/SIGTERM stop it (exit 0).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import uuid
from typing import Any

from console import UserError, print_json
from terminal.cli.runtime import open_till
from terminal.home import add_data_dir_argument
from terminal.receipts.queue import PrintQueue
from terminal.receipts.reports import QueueReport
from terminal.receipts.strings import strings_for
from terminal.sale import Till


def register(subparsers: Any) -> None:
    retry = subparsers.add_parser("print", help="print the receipts waiting for the background")
    mode = retry.add_mutually_exclusive_group()
    mode.add_argument(
        "--held",
        action="store_true",
        help="print the held customer receipts too, each under a header naming its transaction",
    )
    mode.add_argument("--watch", action="store_true", help="run as the print service")
    retry.add_argument(
        "--interval", type=float, default=1.0, metavar="SECONDS", help="--watch: look this often"
    )
    retry.add_argument("--json", action="store_true")
    add_data_dir_argument(retry)
    retry.set_defaults(func=_print)
    reprint = subparsers.add_parser("reprint", help="print a record's receipt again (SALINAN)")
    reprint.add_argument("record_id")
    reprint.add_argument("--json", action="store_true")
    add_data_dir_argument(reprint)
    reprint.set_defaults(func=_reprint)


def _queue(till: Till) -> PrintQueue:
    if not isinstance(till.print_queue, PrintQueue):
        raise UserError("no printer configured (ssn-terminal configure --printer URL)")
    return till.print_queue


def _print(args: argparse.Namespace) -> int:
    if not 0.05 <= args.interval <= 3600:
        raise UserError("--interval must be 0.05 to 3600 seconds")
    with open_till(args) as till:
        queue = _queue(till)
        if args.watch:
            return _watch(queue, args.interval, args.json)
        if args.held:
            background = queue.print_now()
            return _report(queue, queue.print_held() if background.ok else background, args.json)
        return _report(queue, queue.print_now(), args.json)


def _reprint(args: argparse.Namespace) -> int:
    try:
        record_id = uuid.UUID(args.record_id)
    except ValueError as exc:
        raise UserError(f"not a record id: {args.record_id!r}") from exc
    with open_till(args) as till:
        queue = _queue(till)
        if till.journal.record(record_id) is None:
            raise UserError(f"no record {record_id} in this terminal's journal")
        return _report(queue, queue.reprint(record_id), args.json)


def _value(queue: PrintQueue, report: QueueReport) -> dict[str, Any]:
    held = queue.held_jobs()
    return {
        "ok": report.ok,
        "printed_jobs": report.printed,
        "pending": report.pending,
        "held": [
            {
                "job_id": j.job_id,
                "record_id": str(j.record_id) if j.record_id else None,
                "kind": str(j.kind),
            }
            for j in held
        ],
        "message": report.message,
        "warnings": list(report.warnings),
    }


def _lines(queue: PrintQueue, value: dict[str, Any]) -> list[str]:
    s = strings_for(queue.config.language)
    lines = [value["message"] or f"printed {len(value['printed_jobs'])} receipt(s)"]
    lines.extend(value["warnings"])
    if value["held"]:
        lines.append(s.queue_held_count.format(count=len(value["held"])))
        lines.extend(
            f"  reprint {h['record_id']}" for h in value["held"] if h["record_id"] is not None
        )
    return lines


def _report(queue: PrintQueue, report: QueueReport, as_json: bool) -> int:
    value = _value(queue, report)
    if as_json:
        print_json(value)
    else:
        print("\n".join(_lines(queue, value)))
    return 0 if report.ok else 1


def _watch(queue: PrintQueue, interval: float, as_json: bool) -> int:
    """Run the print service until SIGINT/SIGTERM; one line (or JSON line) whenever something
    printed or the printer's condition changed."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    last: list[tuple[object, ...]] = [(None, ())]

    def show(report: QueueReport) -> None:
        news = (report.message, report.warnings)
        if not report.printed and last[-1] == news:
            return  # nothing new to tell
        last.append(news)
        value = _value(queue, report)
        if as_json:
            print(json.dumps(value, ensure_ascii=False), flush=True)
        else:
            print("\n".join(_lines(queue, value)), flush=True)

    queue.on_report = show
    queue.kick()  # look at once, whatever the backoff
    if not queue.watch(stop, tick=interval):
        raise UserError("a print service is already running for this terminal")
    return 0
