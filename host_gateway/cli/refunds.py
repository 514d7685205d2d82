"""``refunds``: value given back after the card session, asked by one operator and approved by
another (host_gateway/refunds.py)."""

from __future__ import annotations

import argparse
from typing import Any

from console import print_json
from host_gateway import refunds
from host_gateway.cli.common import add_common, audit, need_keys, now, session_scope
from host_gateway.display import rupiah


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "refunds", help="refunds after the card session (two operators)"
    ).add_subparsers(dest="refunds_command", required=True)
    create = group.add_parser("create", help="ask for a refund of an accepted sale")
    add_common(create)
    create.add_argument("--record", required=True, help="the sale as TERMINAL/SEQ")
    create.add_argument("--amount", type=int, required=True, help="whole rupiah")
    create.add_argument("--operator", required=True, help="who asks (in the audit log)")
    create.add_argument("--reason", default="", help="why, for the audit log")
    create.set_defaults(func=cmd_create)
    approve = group.add_parser("approve", help="approve (another operator): signs the loads")
    add_common(approve)
    approve.add_argument("refund_id", type=int)
    approve.add_argument("--operator", required=True, help="who approves: not who asked")
    approve.set_defaults(func=cmd_approve)
    listing = group.add_parser("list", help="every refund, asked and approved")
    add_common(listing)
    listing.set_defaults(func=cmd_list)


def cmd_create(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        refund = refunds.create(
            session, args.record, args.amount, args.operator, args.reason, now()
        )
        audit(
            session,
            f"refunds create {refund.id} of {args.record} {rupiah(args.amount)} by {args.operator}",
        )
        value = {"id": refund.id, "record": args.record, "amount": args.amount}
    if args.json:
        print_json(value)
    else:
        print(f"refund {value['id']} of {rupiah(args.amount)} asked: another operator approves it")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    with session_scope(args, with_keys=True) as (session, keys):
        created = refunds.approve(session, need_keys(keys), args.refund_id, args.operator, now())
        audit(session, f"refunds approve {args.refund_id} by {args.operator}")
        value = {
            "id": args.refund_id,
            "loads": [
                {
                    "load_seq": ld.load_seq,
                    "program": ld.purse_code,
                    "amount": ld.amount,
                }
                for ld in created
            ],
        }
    if args.json:
        print_json(value)
    else:
        print(f"refund {args.refund_id} approved: {len(created)} refund loads signed")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = refunds.listing(session)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            state = f"approved by {row['approved_by']}" if row["approved_by"] else "waiting"
            amounts: dict[str, int] = row["amounts"]  # type: ignore[assignment]
            asked = " ".join(f"{code} {rupiah(amount)}" for code, amount in amounts.items())
            print(f"{row['id']:5} {row['terminal']} card {row['card']} {asked} [{state}]")
    return 0
