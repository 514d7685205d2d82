"""``ssn-demo``: seed a whole demo program, and bring it up with its simulators."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from console import UserError, print_json, run
from demo.seed import DEFAULT_GATEWAY_PORT, DEFAULT_PRINTER_PORT, DEMO_ENV, seed
from demo.tools import DemoError

DEFAULT_DATA_DIR = Path("demo-data")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where it all lives (./demo-data)"
    )
    parser.add_argument("--gateway-port", type=int, default=DEFAULT_GATEWAY_PORT)
    parser.add_argument("--printer-port", type=int, default=DEFAULT_PRINTER_PORT)


def _seed(args: argparse.Namespace) -> int:
    os.environ.update(DEMO_ENV)  # the demo's own passphrases, for the commands run in-process
    try:
        value = seed(args.data_dir, args.gateway_port, args.printer_port)
    except DemoError as exc:
        raise UserError(f"seed failed: {exc}") from exc
    if args.json:
        print_json(value)
    else:
        done = ", ".join(value["changed"]) or "nothing (already seeded)"
        print(f"seeded {value['data_dir']}: {done}")
        for card in value["cards"]:
            print(f"  card {card['number']} PIN {card['pin']} {card['holder']}: {card['balances']}")
    return 0


def _up(args: argparse.Namespace) -> int:
    from demo.up import bring_up

    os.environ.update(DEMO_ENV)
    try:
        app = args.app if args.app is not None else (sys.stdin.isatty() and sys.stdout.isatty())
        return bring_up(args.data_dir, args.gateway_port, args.printer_port, args.slot, app=app)
    except DemoError as exc:
        raise UserError(str(exc)) from exc


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("seed", help="create the demo program (idempotent)")
    _common(parser)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_seed)
    up = subparsers.add_parser("up", help="seed if needed, start gateway and simulators")
    _common(up)
    up.add_argument("--slot", type=int, default=0, help="vpcd slot for the demo card")
    up.add_argument(
        "--app",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the cashier app in front (default: when run in a terminal)",
    )
    up.set_defaults(func=_up)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ssn-demo", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(subparsers)
    return run(parser, argv)
