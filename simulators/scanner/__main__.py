"""``python -m simulators.scanner ACTION ...``: the ``ssn-sim scanner`` commands on their own."""

from __future__ import annotations

import argparse
import sys

from console import run
from simulators.scanner import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.scanner")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli.register(subparsers)
    return run(parser, ["scanner", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
