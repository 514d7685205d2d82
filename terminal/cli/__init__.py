"""``ssn-terminal``: the terminal's command line (headless use, tests, automation)."""

from __future__ import annotations

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser("ssn-terminal", "Kartu SSN merchant terminal.", COMMAND_MODULES)
    return run(parser, argv)
