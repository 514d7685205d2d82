"""``ssn-terminal print`` (retry what is waiting) and ``ssn-terminal reprint RECORD_ID``."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from ledger.cli_support import UserError, print_json
from terminal.cli.runtime import open_till
from terminal.home import add_data_dir_argument
from terminal.receipts.reports import QueueReport


def register(subparsers: Any) -> None:
    retry = subparsers.add_parser("print", help="print the receipts still waiting")
    retry.add_argument("--json", action="store_true")
    add_data_dir_argument(retry)
    retry.set_defaults(func=_print)
    reprint = subparsers.add_parser("reprint", help="print a record's receipt again (SALINAN)")
    reprint.add_argument("record_id")
    reprint.add_argument("--json", action="store_true")
    add_data_dir_argument(reprint)
    reprint.set_defaults(func=_reprint)


def _print(args: argparse.Namespace) -> int:
    with open_till(args) as till:
        if till.print_queue is None:
            raise UserError("no printer configured (printer_url in the terminal config)")
        return _report(till.print_queue.print_now(), args.json)


def _reprint(args: argparse.Namespace) -> int:
    try:
        record_id = uuid.UUID(args.record_id)
    except ValueError as exc:
        raise UserError(f"not a record id: {args.record_id!r}") from exc
    with open_till(args) as till:
        if till.print_queue is None:
            raise UserError("no printer configured (printer_url in the terminal config)")
        if till.journal.record(record_id) is None:
            raise UserError(f"no record {record_id} in this terminal's journal")
        return _report(till.print_queue.reprint(record_id), args.json)


def _report(report: QueueReport, as_json: bool) -> int:
    value = {
        "ok": report.ok,
        "printed_jobs": report.printed,
        "pending": report.pending,
        "message": report.message,
        "warnings": list(report.warnings),
    }
    if as_json:
        print_json(value)
    else:
        print(report.message or f"printed {len(report.printed)} receipt(s)")
    return 0 if report.ok else 1
