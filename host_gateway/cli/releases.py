"""``held``: sales the host holds with a reason, reviewed and released to their shop by two
operators (host_gateway/releases.py)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from console import print_json
from host_gateway import releases
from host_gateway.cli.common import add_common, audit, now, session_scope
from host_gateway.display import rupiah, wita


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "held", help="held sales: review, release to the shop (two operators)"
    ).add_subparsers(dest="held_command", required=True)
    listing = group.add_parser("list", help="sales held with a reason and not released")
    add_common(listing)
    listing.add_argument("--limit", type=int, default=200, help="newest first, at most this many")
    listing.set_defaults(func=cmd_list)
    release = group.add_parser("release", help="ask for a held sale's release to its shop")
    add_common(release)
    release.add_argument("--record", required=True, help="the sale as TERMINAL/SEQ")
    release.add_argument("--operator", required=True, help="who asks (in the audit log)")
    release.add_argument("--reason", required=True, help="why it is released (audit log)")
    release.set_defaults(func=cmd_release)
    approve = group.add_parser("approve", help="approve a release (another operator): pays it")
    add_common(approve)
    approve.add_argument("release_id", type=int)
    approve.add_argument("--operator", required=True, help="who approves: not who asked")
    approve.set_defaults(func=cmd_approve)
    releases_list = group.add_parser("releases", help="every release, asked and approved")
    add_common(releases_list)
    releases_list.set_defaults(func=cmd_releases)


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = releases.held_sales(session, args.limit)
    if args.json:
        print_json([dataclasses.asdict(row) for row in rows])
        return 0
    if not rows:
        print("no held sale waits for review")
    for row in rows:
        when = wita(row.terminal_time)
        never = "" if row.releasable else " (not releasable: the sale breaks a rule)"
        print(f"{row.record} {row.shop} {rupiah(row.amount)} at {when}: {row.held_as}{never}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        asked = releases.ask(session, args.record, args.operator, args.reason, now())
        audit(session, f"held release {asked.id} of {args.record} by {args.operator}")
        value = {"id": asked.id, "record": args.record, "amount": asked.amount}
    if args.json:
        print_json(value)
    else:
        print(
            f"release {value['id']} of {args.record} ({rupiah(asked.amount)}) asked:"
            " another operator approves it"
        )
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        done = releases.approve(session, args.release_id, args.operator, now())
        audit(session, f"held release {args.release_id} approved by {args.operator}")
        value = {"id": done.id, "record": f"{done.terminal_id}/{done.seq}", "shop": done.shop_id,
                 "amount": done.amount}  # fmt: skip
    if args.json:
        print_json(value)
    else:
        print(
            f"release {args.release_id} approved: {rupiah(done.amount)} to {done.shop_id}"
            " in the next settlement window"
        )
    return 0


def cmd_releases(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = releases.listing(session)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            state = f"approved by {row['approved_by']}" if row["approved_by"] else "waiting"
            amount = row["amount"]
            assert isinstance(amount, int)
            print(f"{row['id']:5} {row['record']} {row['shop']} {rupiah(amount)} [{state}]")
    return 0
