"""``python -m simulators.printer ACTION ...``: the ``ssn-sim printer`` commands on their own."""

from __future__ import annotations

import argparse
import sys

from console import run
from simulators.printer import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.printer")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli.register(subparsers)
    return run(parser, ["printer", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
