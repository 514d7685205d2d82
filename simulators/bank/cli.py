"""``ssn-sim bank ...``: the simulated distributing bank, its state in one JSON file.

ssn-sim bank init --state bank.json --giro 0011223344 --bic BPDKIDJ1 --holder "Dinas Sosial"
ssn-sim bank fund --state bank.json --amount 1000000 [--what APBD]
ssn-sim bank open-account --state bank.json --account 1234567890 --bic BRINIDJA --holder NAME
ssn-sim bank close-account --state bank.json --account 1234567890
ssn-sim bank fault --state bank.json late-statement | duplicate-statement | partial N | clear
ssn-sim bank submit --state bank.json FILE --out DIR   (writes pain002-*.xml, camt053-*.xml)
ssn-sim bank statement --state bank.json --out DIR     (pending transfers, then a statement)
ssn-sim bank show --state bank.json
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from console import UserError, print_json
from simulators.bank import bank
from simulators.bank.messages import BankFileError


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("bank", help="simulated distributing bank (payout files)")
    commands = group.add_subparsers(dest="bank_command", required=True, metavar="ACTION")

    def command(name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        parser.add_argument("--state", type=Path, required=True, help="the bank's JSON file")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.set_defaults(func=func)
        return parser

    init = command("init", "a new bank with Dinas Sosial's giro account", _init)
    init.add_argument("--giro", required=True, help="giro account number")
    init.add_argument("--bic", required=True)
    init.add_argument("--holder", default="Dinas Sosial Kota Samarinda")
    fund = command("fund", "credit the giro account (a program's budget)", _fund)
    fund.add_argument("--amount", type=int, required=True, help="whole rupiah")
    fund.add_argument("--what", default="FUNDING", help="reference on the statement")
    opened = command("open-account", "open a shop's account", _open)
    opened.add_argument("--account", required=True)
    opened.add_argument("--bic", required=True)
    opened.add_argument("--holder", required=True)
    closed = command("close-account", "close an account (transfers to it are rejected)", _close)
    closed.add_argument("--account", required=True)
    fault = command("fault", "arm a fault for the next payout file", _fault)
    fault.add_argument("fault", choices=(*bank.FAULTS, "clear"))
    fault.add_argument("count", nargs="?", type=int, default=1, help="partial: transfers done")
    submit = command("submit", "take a payout file (pain.001)", _submit)
    submit.add_argument("file", type=Path)
    submit.add_argument("--out", type=Path, required=True, help="folder for the answers")
    statement = command("statement", "execute pending transfers and state the giro", _statement)
    statement.add_argument("--out", type=Path, required=True)
    command("show", "accounts and balances", _show)


def _state(args: argparse.Namespace) -> bank.BankState:
    if not args.state.exists():
        raise UserError(f"no bank at {args.state}: ssn-sim bank init first")
    return bank.BankState.load(args.state)


def _done(args: argparse.Namespace, state: bank.BankState, value: Any, text: str) -> int:
    state.save(args.state)
    if args.json:
        print_json(value)
    else:
        print(text)
    return 0


def _init(args: argparse.Namespace) -> int:
    if args.state.exists():
        raise UserError(f"{args.state} exists already")
    state = bank.new_bank(args.giro, args.bic, args.holder)
    return _done(args, state, {"giro": args.giro}, f"bank ready, giro account {args.giro}")


def _fund(args: argparse.Namespace) -> int:
    state = _state(args)
    try:
        bank.fund(state, args.amount, args.what, int(time.time()))
    except BankFileError as exc:
        raise UserError(str(exc)) from exc
    balance = state.accounts[state.giro].balance
    return _done(args, state, {"giro_balance": balance}, f"giro balance Rp{balance:,}")


def _open(args: argparse.Namespace) -> int:
    state = _state(args)
    if args.account in state.accounts:
        raise UserError(f"account {args.account} exists already")
    state.accounts[args.account] = bank.Account(args.bic, args.holder)
    return _done(args, state, {"account": args.account}, f"account {args.account} opened")


def _close(args: argparse.Namespace) -> int:
    state = _state(args)
    if args.account not in state.accounts or args.account == state.giro:
        raise UserError(f"no shop account {args.account}")
    state.accounts[args.account].open = False
    return _done(args, state, {"account": args.account}, f"account {args.account} closed")


def _fault(args: argparse.Namespace) -> int:
    state = _state(args)
    if args.fault == "clear":
        state.faults = {}
    else:
        state.faults[args.fault] = args.count
    return _done(args, state, state.faults, f"armed: {state.faults or 'nothing'}")


def _write(args: argparse.Namespace, state: bank.BankState, outputs: list[bank.Output]) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    for output in outputs:
        (args.out / output.name).write_bytes(output.data)
    names = [str(args.out / o.name) for o in outputs]
    return _done(args, state, {"files": names}, "\n".join(names))


def _submit(args: argparse.Namespace) -> int:
    state = _state(args)
    try:
        outputs = bank.submit(state, args.file.read_bytes(), int(time.time()))
    except (BankFileError, OSError) as exc:
        raise UserError(f"payout file refused: {exc}") from exc
    return _write(args, state, outputs)


def _statement(args: argparse.Namespace) -> int:
    state = _state(args)
    return _write(args, state, bank.statement(state, int(time.time())))


def _show(args: argparse.Namespace) -> int:
    state = _state(args)
    value = {
        "giro": state.giro,
        "accounts": {k: asdict(v) for k, v in sorted(state.accounts.items())},
        "pending": state.pending,
        "faults": state.faults,
    }
    if args.json:
        print_json(value)
    else:
        for number, account in sorted(state.accounts.items()):
            flag = "" if account.open else " (closed)"
            print(f"{number:>20} {account.holder:<40} Rp{account.balance:>15,}{flag}")
    return 0
