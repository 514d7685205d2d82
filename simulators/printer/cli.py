"""``ssn-sim printer ...``: the simulated receipt printer.

ssn-sim printer serve --tcp 127.0.0.1:9100 [--pty] --out DIR [--paper 80|58]
                      [--control 127.0.0.1:9101] [--fault paper_end ...] [--slow S]
                      [--drop-after N] [--after-cut NAME|drop] [--no-png] [--json]
ssn-sim printer ctl --control 127.0.0.1:9101 fault paper_end | fault paper_end off
                    | fault paper_after N | fault after_cut drop | clear | state | jobs
ssn-sim printer render FILE --out DIR [--paper 80|58]   (ESC/POS bytes from a file:// printer)
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from console import UserError, print_json
from simulators.printer.device import AFTER_CUT_FAULTS, FAULT_NAMES, Faults
from simulators.printer.server import PrinterSimulator, Session


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def register(subparsers: Any) -> None:
    printer = subparsers.add_parser("printer", help="simulated ESC/POS receipt printer")
    commands = printer.add_subparsers(dest="printer_command", required=True, metavar="ACTION")

    serve = commands.add_parser("serve", help="print ESC/POS from TCP and/or a pty to files")
    serve.add_argument("--tcp", type=_address, help="HOST:PORT to listen on (port 0: any)")
    serve.add_argument("--pty", action="store_true", help="also open a pty (serial path)")
    serve.add_argument("--out", type=Path, required=True, help="folder for job files and log")
    serve.add_argument("--paper", type=int, choices=(58, 80), default=80)
    serve.add_argument("--control", type=_address, help="HOST:PORT of the control channel")
    serve.add_argument("--fault", action="append", choices=FAULT_NAMES, default=[])
    serve.add_argument("--slow", type=float, default=0.0, help="seconds per status reply/KiB")
    serve.add_argument("--drop-after", type=int, help="drop each connection after N bytes")
    serve.add_argument(
        "--after-cut", choices=AFTER_CUT_FAULTS, help="strikes at the next cut (drop: the link)"
    )
    serve.add_argument("--no-png", action="store_true", help="write .txt and .json only")
    serve.add_argument("--json", action="store_true", help="print the addresses as JSON")
    serve.set_defaults(func=_serve)

    ctl = commands.add_parser("ctl", help="send a command to a running simulator")
    ctl.add_argument("--control", type=_address, required=True)
    ctl.add_argument("words", nargs="+", help="fault NAME [on|off|VALUE] | clear | state | jobs")
    ctl.set_defaults(func=_ctl)

    render = commands.add_parser("render", help="render a file of ESC/POS bytes to job files")
    render.add_argument("file", type=Path)
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--paper", type=int, choices=(58, 80), default=80)
    render.set_defaults(func=_render)


def _serve(args: argparse.Namespace) -> int:
    if args.tcp is None and not args.pty:
        raise UserError("say where to listen: --tcp HOST:PORT and/or --pty")
    faults = Faults(slow=args.slow, drop_after=args.drop_after)
    for name in args.fault:
        faults.set(name, "on")
    if args.after_cut is not None:
        faults.set("after_cut", args.after_cut)
    simulator = PrinterSimulator(args.out, paper_mm=args.paper, png=not args.no_png, faults=faults)
    where: dict[str, Any] = {"out": str(args.out)}
    try:
        if args.tcp is not None:
            host, port = simulator.start_tcp(*args.tcp)
            where["tcp"] = f"{host}:{port}"
        if args.pty:
            where["pty"] = simulator.start_pty()
        if args.control is not None:
            host, port = simulator.start_control(*args.control)
            where["control"] = f"{host}:{port}"
    except OSError as exc:
        simulator.stop()
        raise UserError(f"cannot listen: {exc}") from exc
    if args.json:
        print_json(where)
    else:
        for key, value in where.items():
            print(f"{key} {value}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    simulator.stop()
    return 0


def control_call(address: tuple[str, int], line: str, timeout: float = 5.0) -> dict[str, Any]:
    """Send one command to a simulator's control channel; its JSON answer."""
    with (
        socket.create_connection(address, timeout=timeout) as conn,
        conn.makefile("rw", encoding="utf-8", newline="\n") as stream,
    ):
        stream.write(line.strip() + "\n")
        stream.flush()
        answer: dict[str, Any] = json.loads(stream.readline())
    return answer


def _ctl(args: argparse.Namespace) -> int:
    try:
        answer = control_call(args.control, " ".join(args.words))
    except OSError as exc:
        raise UserError(f"no printer simulator control at {args.control}: {exc}") from exc
    print_json(answer)
    return 0 if answer.get("ok") else 1


def _render(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc}") from exc
    simulator = PrinterSimulator(args.out, paper_mm=args.paper)
    session = Session(simulator.device, "file", lambda _: None)
    session.feed(data)
    session.end()
    jobs = simulator.device.wait_idle()
    simulator.stop()
    for job in jobs:
        sys.stdout.write(f"{job.txt}\n")
    return 0
