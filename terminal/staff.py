"""Who may work the till: cashiers (id and PIN) and the supervisor PIN.

Cashier PINs live in ``staff.json`` beside the config, as salted scrypt hashes like the
supervisor PIN (which stays in the config, where the cancellation reads it). The first run of
the cashier app sets both; ``ssn-terminal staff`` does the same from a shell. A PIN is never
written anywhere in clear, and never taken from a command line (shell history, ``ps``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from terminal.config import check_pin, hash_pin
from terminal.home import TerminalHome, write_atomically

CASHIER_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")


class StaffError(ValueError):
    """A bad cashier id or PIN: nothing was changed."""


def staff_path(home: TerminalHome) -> Path:
    return home.paths.data_dir / "staff.json"


def cashiers(home: TerminalHome) -> dict[str, str]:
    """Cashier id → PIN hash; empty before the first run."""
    path = staff_path(home)
    if not path.exists():
        return {}
    value = json.loads(path.read_text())
    found = value.get("cashiers", {}) if isinstance(value, dict) else {}
    return {str(k): str(v) for k, v in found.items()}


def _check_new_pin(pin: str) -> str:
    try:
        return hash_pin(pin)
    except ValueError as exc:
        raise StaffError(str(exc)) from exc


def set_cashier(home: TerminalHome, cashier: str, pin: str) -> None:
    """Add a cashier or change their PIN."""
    if not CASHIER_ID.fullmatch(cashier):
        raise StaffError("a cashier id is 1 to 32 lowercase letters, digits, '.', '_' or '-'")
    hashed = _check_new_pin(pin)
    known = cashiers(home)
    known[cashier] = hashed
    data = json.dumps({"cashiers": known}, indent=2, sort_keys=True) + "\n"
    write_atomically(staff_path(home), data.encode())


def check_cashier(home: TerminalHome, cashier: str, pin: str) -> bool:
    stored = cashiers(home).get(cashier)
    return stored is not None and check_pin(pin, stored)


def set_supervisor_pin(home: TerminalHome, pin: str) -> None:
    home.save_config(dataclasses.replace(home.config, supervisor_pin_hash=_check_new_pin(pin)))


def needs_first_run(home: TerminalHome) -> bool:
    """No supervisor PIN or no cashier yet: the app asks for both before anything else."""
    return home.config.supervisor_pin_hash is None or not cashiers(home)
