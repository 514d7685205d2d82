"""``ssn-terminal staff``: the supervisor PIN and cashier PINs, asked at a prompt.

A PIN is typed twice at a hidden prompt, or read from stdin with ``--pin-stdin`` (automation):
never an argument, which shell history and ``ps`` would keep.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from console import UserError, print_json
from terminal.home import TerminalHome, add_data_dir_argument, default_data_dir
from terminal.staff import StaffError, cashiers, set_cashier, set_supervisor_pin


def register(subparsers: Any) -> None:
    staff = subparsers.add_parser("staff", help="supervisor PIN and cashier PINs")
    actions = staff.add_subparsers(dest="action", required=True, metavar="ACTION")
    supervisor = actions.add_parser("supervisor-pin", help="set the supervisor PIN")
    cashier = actions.add_parser("cashier", help="add a cashier or change their PIN")
    cashier.add_argument("cashier_id")
    listing = actions.add_parser("list", help="the cashiers of this terminal (never their PINs)")
    for parser in (supervisor, cashier):
        parser.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    for parser in (supervisor, cashier, listing):
        add_data_dir_argument(parser)
        parser.add_argument("--json", action="store_true")
    supervisor.set_defaults(func=_supervisor)
    cashier.set_defaults(func=_cashier)
    listing.set_defaults(func=_list)


def _new_pin(args: argparse.Namespace, who: str) -> str:
    if args.pin_stdin:
        return sys.stdin.readline().strip()
    first = getpass.getpass(f"New PIN for {who}: ")
    if getpass.getpass("Again: ") != first:
        raise UserError("the two PINs differ: nothing was changed")
    return first


def _supervisor(args: argparse.Namespace) -> int:
    pin = _new_pin(args, "the supervisor")
    with TerminalHome.open(default_data_dir(args.data_dir)) as home:
        try:
            set_supervisor_pin(home, pin)
        except StaffError as exc:
            raise UserError(str(exc)) from exc
    return _done(args, {"supervisor_pin": "set"})


def _cashier(args: argparse.Namespace) -> int:
    pin = _new_pin(args, args.cashier_id)
    with TerminalHome.open(default_data_dir(args.data_dir)) as home:
        try:
            set_cashier(home, args.cashier_id, pin)
        except StaffError as exc:
            raise UserError(str(exc)) from exc
    return _done(args, {"cashier": args.cashier_id, "pin": "set"})


def _list(args: argparse.Namespace) -> int:
    with TerminalHome.open(default_data_dir(args.data_dir)) as home:
        value = {
            "cashiers": sorted(cashiers(home)),
            "supervisor_pin": home.config.supervisor_pin_hash is not None,
        }
    return _done(args, value)


def _done(args: argparse.Namespace, value: dict[str, Any]) -> int:
    if args.json:
        print_json(value)
    else:
        for key, item in value.items():
            print(f"{key}: {', '.join(item) if isinstance(item, list) else item}")
    return 0
