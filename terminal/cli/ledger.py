"""``ssn-terminal verify-ledger``: check the terminal's whole journal against the issuer's keys.

Checks the chain (sequence numbers and previous-record hashes), the terminal's signature on every
record, every card certificate and card proof against the trust anchors in the terminal config,
that every card operation answers its write-ahead intent, and that the file was not truncated or
stripped of its append-only triggers. Exit 0 when clean (with counts), 1 naming the first bad
record (sequence number, id, reason), 2 when the home cannot be opened.
"""

from __future__ import annotations

import argparse
from typing import Any

from console import print_json
from terminal.home import TerminalHome, add_data_dir_argument, default_data_dir

EXIT_BAD_LEDGER = 1


def register(subparsers: Any) -> None:
    verify = subparsers.add_parser(
        "verify-ledger", help="check the journal's chain, signatures and card proofs"
    )
    add_data_dir_argument(verify)
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=_verify_ledger)


def _verify_ledger(args: argparse.Namespace) -> int:
    with TerminalHome.open(default_data_dir(args.data_dir)) as home:
        report = home.journal.audit(home.config.anchors)
        counts = home.journal.counts()
    result = {
        "terminal_id": home.config.terminal_id,
        **report.to_json(),
        "outbox": counts.outbox,
        "open_intents": counts.open_intents,
        "unresolved_intents": counts.unresolved_intents,
    }
    if args.json:
        print_json(result)
    else:
        _print_text(result)
    return 0 if report.ok else EXIT_BAD_LEDGER


def _print_text(result: dict[str, Any]) -> None:
    kinds = ", ".join(f"{count} {kind}" for kind, count in result["by_type"].items()) or "none"
    verdict = "OK" if result["ok"] else "BAD"
    print(f"journal of {result['terminal_id']}: {verdict}")
    print(f"  records verified: {result['records']} (read: {kinds})")
    print(f"  not yet acknowledged by the host: {result['outbox']}")
    opened, unresolved = result["open_intents"], result["unresolved_intents"]
    print(f"  unfinished intents: {opened} open, {unresolved} unresolved")
    bad = result["first_bad"]
    if bad is not None:
        print(
            f"  first bad record: seq {bad['seq']}, id {bad['id'] or 'unreadable'}: {bad['reason']}"
        )
    for problem in result["problems"]:
        print(f"  problem: {problem}")
