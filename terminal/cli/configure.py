"""``ssn-terminal configure``: the shop's own devices and receipt language.

These are local facts (which reader and printer sit on this counter), not the issuer's config,
so they are set here and never overwritten by a sync. Risk limits come only from the gateway.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from console import UserError, print_json
from drivers.printer.errors import PrinterConfigError
from drivers.printer.transport import parse_printer_url
from drivers.scanner.scanner import ScannerConfigError
from drivers.scanner.serial_scanner import parse_scanner_url
from terminal.config import HELD_RECEIPTS, PRINT_WAIT_LIMIT
from terminal.home import TerminalHome, add_data_dir_argument, default_data_dir
from terminal.receipts.model import Language


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("configure", help="set this counter's reader, printer, language")
    add_data_dir_argument(parser)
    parser.add_argument("--reader", default=None, help="card reader name (empty: the first one)")
    parser.add_argument(
        "--printer", default=None, help="tcp://HOST:9100, serial:///dev/ttyX?baud=N, usb://VID:PID"
    )
    parser.add_argument("--no-printer", action="store_true", help="this counter has no printer")
    parser.add_argument(
        "--scanner", default=None, help="serial barcode scanner: serial:///dev/ttyX?baud=N"
    )
    parser.add_argument(
        "--no-scanner", action="store_true", help="no serial scanner (keyboard wedge or none)"
    )
    parser.add_argument("--language", choices=[lang.value for lang in Language], default=None)
    parser.add_argument("--address", default=None, help="shop address printed on receipts")
    parser.add_argument(
        "--print-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long a sale prints its receipt in front of the holder (default 10)",
    )
    parser.add_argument(
        "--held-receipts",
        choices=HELD_RECEIPTS,
        default=None,
        help="a holder's receipt that missed its sale: hold it for a reprint (default), or "
        "print it later under a header naming its transaction",
    )
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_configure)


def _configure(args: argparse.Namespace) -> int:
    if args.printer is not None and args.no_printer:
        raise UserError("give --printer or --no-printer, not both")
    if args.print_wait is not None and not 0 < args.print_wait <= PRINT_WAIT_LIMIT:
        raise UserError(
            f"--print-wait must be more than 0 and at most {PRINT_WAIT_LIMIT:g} seconds"
        )
    if args.scanner is not None:
        try:
            parse_scanner_url(args.scanner)
        except ScannerConfigError as exc:
            raise UserError(str(exc)) from exc
    if args.printer is not None:
        try:
            parse_printer_url(args.printer)
        except PrinterConfigError as exc:
            raise UserError(str(exc)) from exc
    with TerminalHome.open(default_data_dir(args.data_dir)) as home:
        config = home.config
        changes: dict[str, Any] = {}
        if args.reader is not None:
            changes["reader_name"] = args.reader or None
        if args.printer is not None:
            changes["printer_url"] = args.printer
        if args.no_printer:
            changes["printer_url"] = None
        if args.scanner is not None:
            changes["scanner_url"] = args.scanner
        if args.no_scanner:
            changes["scanner_url"] = None
        if args.language is not None:
            changes["receipt_language"] = args.language
        if args.address is not None:
            changes["shop_address"] = args.address
        if args.print_wait is not None:
            changes["print_wait_seconds"] = args.print_wait
        if args.held_receipts is not None:
            changes["held_receipts"] = args.held_receipts
        if changes:
            config = dataclasses.replace(config, **changes)
            home.save_config(config)
        value = {
            "terminal_id": config.terminal_id,
            "reader": config.reader_name,
            "printer": config.printer_url,
            "scanner": config.scanner_url,
            "language": config.receipt_language,
            "address": config.shop_address,
            "print_wait": config.print_wait_seconds,
            "held_receipts": config.held_receipts,
        }
    if args.json:
        print_json(value)
    else:
        for key, item in value.items():
            print(f"{key:12} {item if item is not None else '-'}")
    return 0
