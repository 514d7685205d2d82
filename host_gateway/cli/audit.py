"""``audit --full``: re-verify every signature of a period, for a third party."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from console import UserError, print_json
from host_gateway.cli.common import add_common, session_scope
from host_gateway.signature_audit import audit_signatures
from ledger.verify import WITA


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser(
        "audit", help="verify every signature of a period's accepted records again"
    )
    add_common(audit)
    audit.add_argument(
        "--full",
        action="store_true",
        required=True,
        help="every signature of every record, record by record (the only mode)",
    )
    audit.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (WITA)")
    audit.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (WITA)")
    audit.set_defaults(func=cmd_audit)


def _day_start(text: str) -> int:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"not a date (YYYY-MM-DD): {text}") from exc
    return int(dt.datetime.combine(day, dt.time(), WITA).timestamp())


def cmd_audit(args: argparse.Namespace) -> int:
    start, end = _day_start(args.start), _day_start(args.end) + 86_400
    if end <= start:
        raise UserError("--to is before --from")
    with session_scope(args) as (session, _):
        report = audit_signatures(session, start, end)
    if args.json:
        print_json({**report.__dict__, "ok": report.ok})
    else:
        print(
            f"{report.records} accepted records of {report.terminals} terminals received "
            f"{args.start} to {args.end}: {report.signatures} signatures verified"
        )
        for failure in report.failures:
            print(
                f"FAILED {failure['terminal']}/{failure['seq']:06d}: "
                f"{failure['code']}: {failure['message']}"
            )
    if not report.ok:
        raise UserError(f"audit failed: {report.failed} records do not verify", exit_code=1)
    if not args.json:
        print("ok")
    return 0
