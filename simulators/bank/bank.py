"""The distributing bank (Bank Penyalur), simulated: accounts, Dinas Sosial's giro parent account
funded by the programs' budgets, and the shops' accounts. It takes a payout file, executes what
it can, rejects what it must (unknown or closed account: AC01 / AC04; not enough in the giro
account: AM04), and answers with a pain.002 status report and a camt.053 statement of the giro
account. Faults on command, for the next payout file: a late statement (written only by the next
``statement``), a duplicate statement (the same statement sent twice), a partial execution (only
the first N transfers now, the rest pending until the next ``statement``).

State is one JSON file, written whole through a temporary file, so a killed bank loses nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulators.bank import messages
from simulators.bank.messages import BankFileError, Movement, Status, Transfer

WITA = dt.timezone(dt.timedelta(hours=8), "WITA")
REASONS = {
    "AC01": "account unknown",
    "AC04": "account closed",
    "AM04": "insufficient funds in the giro account",
}
FAULTS = ("late-statement", "duplicate-statement", "partial")


@dataclass
class Account:
    bic: str
    holder: str
    balance: int = 0
    open: bool = True


@dataclass
class BankState:
    giro: str
    accounts: dict[str, Account] = field(default_factory=dict)
    unstated: list[dict[str, Any]] = field(default_factory=list)
    """Giro movements since the last statement."""
    stated_balance: int = 0
    """The giro balance at the end of the last statement."""
    statements: int = 0
    reports: int = 0
    seen_messages: list[str] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    """Transfers of a partial execution still to do: with the payout's message id."""
    faults: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> BankState:
        value = json.loads(path.read_text())
        value["accounts"] = {k: Account(**v) for k, v in value["accounts"].items()}
        return cls(**value)

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        os.replace(temporary, path)


def new_bank(giro: str, bic: str, holder: str) -> BankState:
    state = BankState(giro=giro)
    state.accounts[giro] = Account(bic, holder)
    return state


def fund(state: BankState, amount: int, what: str, now: int) -> None:
    """Money for the programs arrives in the giro account (a credit on the next statement)."""
    if amount <= 0:
        raise BankFileError("funding must be a positive number of rupiah")
    state.accounts[state.giro].balance += amount
    state.unstated.append(asdict(Movement(amount, True, what, _date(now))))


@dataclass(frozen=True)
class Output:
    name: str
    data: bytes


def submit(state: BankState, data: bytes, now: int) -> list[Output]:
    """Take a payout file; returns the files the bank sends back (reports, statements)."""
    order = messages.read_pain001(data)
    if order.debtor_account != state.giro:
        raise BankFileError(f"the payer {order.debtor_account} is not the giro account")
    if order.message_id in state.seen_messages:
        raise BankFileError(f"payout {order.message_id} was taken already: not executed twice")
    state.seen_messages.append(order.message_id)
    todo = list(order.transfers)
    later: list[Transfer] = []
    if "partial" in state.faults:
        keep = state.faults.pop("partial")
        todo, later = todo[:keep], todo[keep:]
    statuses = [_execute(state, t, now) for t in todo]
    statuses += [Status(t.end_to_end_id, "PDNG") for t in later]
    state.pending += [asdict(t) | {"message_id": order.message_id} for t in later]
    outputs = [_report(state, order.message_id, statuses, now)]
    if state.faults.pop("late-statement", 0):
        return outputs
    return outputs + _statement(state, now, resend=bool(state.faults.pop("duplicate-statement", 0)))


def statement(state: BankState, now: int) -> list[Output]:
    """Execute what a partial execution left pending, then state the giro account."""
    outputs = []
    by_message: dict[str, list[Status]] = {}
    for pending in state.pending:
        message_id = pending.pop("message_id")
        by_message.setdefault(message_id, []).append(_execute(state, Transfer(**pending), now))
    state.pending = []
    for message_id, statuses in by_message.items():
        outputs.append(_report(state, message_id, statuses, now))
    return outputs + _statement(state, now)


def _execute(state: BankState, transfer: Transfer, now: int) -> Status:
    target = state.accounts.get(transfer.account)
    giro = state.accounts[state.giro]
    if target is None or transfer.account == state.giro or target.bic != transfer.bic:
        return _rejected(transfer, "AC01")
    if not target.open:
        return _rejected(transfer, "AC04")
    if giro.balance < transfer.amount:
        return _rejected(transfer, "AM04")
    giro.balance -= transfer.amount
    target.balance += transfer.amount
    state.unstated.append(
        asdict(Movement(transfer.amount, False, transfer.end_to_end_id, _date(now)))
    )
    return Status(transfer.end_to_end_id, "ACSC")


def _rejected(transfer: Transfer, code: str) -> Status:
    return Status(transfer.end_to_end_id, "RJCT", code, REASONS[code])


def _report(state: BankState, original: str, statuses: list[Status], now: int) -> Output:
    state.reports += 1
    message_id = f"BANK-STS-{state.reports:06d}"
    data = messages.pain002(message_id, original, _time(now), statuses)
    return Output(f"pain002-{message_id}.xml", data)


def _statement(state: BankState, now: int, resend: bool = False) -> list[Output]:
    """The giro account's movements since the last statement; with ``resend`` the same
    statement is sent twice, the second under a new message id (as banks do on a resend)."""
    state.statements += 1
    movements = [Movement(**m) for m in state.unstated]
    statement_id = f"GIRO-{state.statements:06d}"
    outputs = []
    for suffix in ("", "-R") if resend else ("",):
        data = messages.camt053(
            f"BANK-STM-{state.statements:06d}{suffix}",
            statement_id,
            state.statements,
            _time(now),
            state.giro,
            state.stated_balance,
            movements,
        )
        outputs.append(Output(f"camt053-{statement_id}{suffix}.xml", data))
    state.stated_balance += sum(m.amount if m.credit else -m.amount for m in movements)
    state.unstated = []
    return outputs


def _time(now: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, WITA)


def _date(now: int) -> str:
    return _time(now).date().isoformat()
