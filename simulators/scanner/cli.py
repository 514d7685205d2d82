"""``ssn-sim scanner ...``: the simulated serial barcode scanner.

ssn-sim scanner serve [--link PATH] [--control PATH] [--suffix cr|lf|crlf] [--json]
ssn-sim scanner scan --control PATH CODE [CODE ...]

``serve`` prints the pty's path (``tty``), the link and the control FIFO (default
``<link>.ctl``); point the terminal at ``serial://<link>``. ``scan`` "scans" codes in order.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

from console import UserError, print_json
from simulators.scanner.device import SUFFIXES, ScannerSimError, ScannerSimulator, send_codes


def register(subparsers: Any) -> None:
    scanner = subparsers.add_parser("scanner", help="simulated serial barcode scanner")
    commands = scanner.add_subparsers(dest="scanner_command", required=True, metavar="ACTION")

    serve = commands.add_parser("serve", help="a scanner on a pty, fed from a control FIFO")
    serve.add_argument("--link", type=Path, help="stable symlink to the pty (serial://LINK)")
    serve.add_argument("--control", type=Path, help="control FIFO; default: <link>.ctl")
    serve.add_argument("--suffix", choices=sorted(SUFFIXES), default="cr")
    serve.add_argument("--json", action="store_true", help="print the paths as one JSON line")
    serve.set_defaults(func=_serve)

    scan = commands.add_parser("scan", help="scan codes on a running simulator")
    scan.add_argument("--control", type=Path, required=True)
    scan.add_argument("codes", nargs="+", metavar="CODE")
    scan.set_defaults(func=_scan)


def _serve(args: argparse.Namespace) -> int:
    control = args.control
    if control is None and args.link is not None:
        control = args.link.with_name(args.link.name + ".ctl")
    if control is None:
        raise UserError("say where the control FIFO goes: --control PATH (or --link PATH)")
    simulator = ScannerSimulator(args.link, control, SUFFIXES[args.suffix])
    try:
        tty_path = simulator.start()
    except ScannerSimError as exc:
        raise UserError(str(exc)) from exc
    where = {"tty": tty_path, "link": str(args.link) if args.link else None}
    where["control"] = str(control)
    if args.json:
        print(json.dumps(where), flush=True)
    else:
        for key, value in where.items():
            print(f"{key} {value}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    simulator.stop()
    return 0


def _scan(args: argparse.Namespace) -> int:
    try:
        send_codes(args.control, args.codes)
    except ScannerSimError as exc:
        raise UserError(str(exc)) from exc
    print_json({"scanned": args.codes})
    return 0
