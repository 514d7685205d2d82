"""``programs define`` (a program's terms), ``aid`` (monthly loads, two operators) and
``report`` (recipients and aid, JSON or CSV): thin layers over host_gateway/programs."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from console import print_json
from host_gateway.cli.common import add_common, audit, need_keys, now, session_scope
from host_gateway.display import rupiah
from host_gateway.programs import aid, reports, terms


def add_define(programs: Any) -> None:
    """``programs define``, added to the ``programs`` group of host_gateway/cli/operators.py."""
    define = programs.add_parser("define", help="create a program or change its terms")
    add_common(define)
    define.add_argument("--code", required=True, help="4 characters A-Z0-9, e.g. APBD")
    define.add_argument("--name", required=True)
    define.add_argument("--funder", required=True, choices=terms.FUNDER_KINDS)
    define.add_argument("--categories", required=True, help="catalog categories, comma-separated")
    define.add_argument("--benefit", type=int, required=True, help="rupiah per period")
    define.add_argument("--period-months", type=int, default=1)
    define.add_argument("--load-day", type=int, default=1, help="day of month the aid is loaded")
    define.add_argument("--expiry-periods", type=int, default=3, help="unspent aid expires after")
    define.add_argument("--eligibility", choices=terms.ELIGIBILITY, default="")
    define.add_argument("--households-allowed", action="store_true")
    define.set_defaults(func=cmd_define)


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "aid", help="monthly aid: one operator prepares, another approves"
    ).add_subparsers(dest="aid_command", required=True)
    prepare = group.add_parser("prepare", help="the loads of a program period, from recipients")
    add_common(prepare)
    prepare.add_argument("--program", required=True)
    prepare.add_argument("--period", required=True, help="YYYY-MM (first month of the period)")
    prepare.add_argument("--operator", required=True, help="who prepares (in the audit log)")
    prepare.set_defaults(func=cmd_prepare)
    approve = group.add_parser("approve", help="approve (another operator): the issuer signs")
    add_common(approve)
    approve.add_argument("batch", type=int)
    approve.add_argument("--operator", required=True, help="who approves: not who prepared")
    approve.set_defaults(func=cmd_approve)
    status = group.add_parser("status", help="pending, delivered, confirmed, and why not")
    add_common(status)
    status.add_argument("batch", type=int)
    status.set_defaults(func=cmd_status)
    listing = group.add_parser("list", help="every aid batch")
    add_common(listing)
    listing.set_defaults(func=cmd_list)

    report = subparsers.add_parser("report", help="reports (JSON or CSV)")
    report.add_argument("what", choices=("recipients", "aid"))
    add_common(report)
    report.add_argument("--csv", action="store_true", help="CSV on stdout")
    report.set_defaults(func=cmd_report)


def cmd_define(args: argparse.Namespace) -> int:
    value = terms.TermsInput(
        code=args.code,
        name=args.name,
        funder_kind=args.funder,
        categories=args.categories.split(","),
        benefit=args.benefit,
        period_months=args.period_months,
        load_day=args.load_day,
        expiry_periods=args.expiry_periods,
        eligibility=args.eligibility,
        households_allowed=args.households_allowed,
    )
    with session_scope(args) as (session, _):
        row = terms.define(session, value, now())
        audit(session, f"programs define {args.code} Rp{args.benefit} every {args.period_months}m")
        shown = {
            "code": row.program_code,
            "funder": row.funder_kind,
            "categories": row.categories.split(","),
            "benefit": row.benefit,
            "period_months": row.period_months,
            "load_day": row.load_day,
            "expiry_periods": row.expiry_periods,
            "households_allowed": row.households_allowed,
        }
    if args.json:
        print_json(shown)
    else:
        print(f"program {args.code}: {rupiah(args.benefit)} every {args.period_months} month(s)")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        done = aid.prepare(session, args.program, args.period, args.operator, now())
        audit(
            session, f"aid prepare {done.batch.id} {args.program} {args.period} by {args.operator}"
        )
        value = {
            "batch": done.batch.id,
            "program": args.program,
            "period": args.period,
            "cards": done.batch.cards,
            "amount": done.batch.amount,
            "total": done.batch.cards * done.batch.amount,
            "recipients_without_card": done.without_card,
        }
    if args.json:
        print_json(value)
    else:
        print(
            f"aid batch {value['batch']}: {value['cards']} cards x {rupiah(value['amount'])};"
            f" {done.without_card} recipients have no active card; another operator approves"
        )
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    with session_scope(args, with_keys=True) as (session, keys):
        signed = aid.approve(session, need_keys(keys), args.batch, args.operator, now())
        audit(session, f"aid approve {args.batch} by {args.operator}: {signed} loads signed")
    if args.json:
        print_json({"batch": args.batch, "signed": signed})
    else:
        print(f"aid batch {args.batch} approved: {signed} loads signed")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        value = aid.status(session, args.batch)
    if args.json:
        print_json(value)
    else:
        print(f"aid batch {value['batch']} {value['program']} {value['period']}: {value['counts']}")
        for row in value["waiting"]:  # type: ignore[attr-defined]
            print(f"  {row['card']}: {row['why']}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = [
            {
                "batch": b.id,
                "program": b.program_code,
                "period": b.period.strftime("%Y-%m"),
                "cards": b.cards,
                "amount": b.amount,
                "prepared_by": b.prepared_by,
                "approved_by": b.approved_by,
            }
            for b in aid.batches(session)
        ]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            state = f"approved by {row['approved_by']}" if row["approved_by"] else "waiting"
            print(
                f"{row['batch']:5} {row['program']} {row['period']} {row['cards']} cards [{state}]"
            )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = reports.recipients(session) if args.what == "recipients" else reports.aid(session)
    if args.csv:
        columns = list(rows[0]) if rows else []
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        print_json(rows)
    return 0
