"""``ssn-sim``: run the simulated hardware (cards, printer, scanner, ...)."""

from __future__ import annotations

from collections.abc import Sequence

from console import build_parser, run

COMMAND_MODULES = [
    "simulators.card.cli",
    "simulators.printer.cli",
    "simulators.scanner.cli",
    "simulators.bank.cli",
    "simulators.fleet.cli",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser("ssn-sim", "Simulated SSN hardware.", COMMAND_MODULES)
    return run(parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
