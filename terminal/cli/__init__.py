"""``ssn-terminal``: the terminal's command line (headless use, tests, automation)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from console import build_parser, run

COMMAND_MODULES = [
    "terminal.cli.card",
    "terminal.cli.ledger",
    "terminal.cli.sale",
    "terminal.cli.printing",
    "terminal.cli.sync",
    "terminal.cli.configure",
    "terminal.cli.staff",
    "terminal.cli.app",
]


ALONE = {"run": "terminal.cli.app"}
"""Commands whose start-up a person waits for: only their own module is imported (the others
pull in the sale engine and SQLAlchemy at import, most of the cashier app's start-up time)."""


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    alone = ALONE.get(words[0]) if words else None
    modules = [alone] if alone else COMMAND_MODULES
    parser = build_parser("ssn-terminal", "Kartu SSN merchant terminal.", modules)
    return run(parser, words)
