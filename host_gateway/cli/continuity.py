"""``intents`` and ``settings``: stuck intents settled from the host's evidence, and the host's
own settings (``gap_alert_hours``)."""

from __future__ import annotations

import argparse
from typing import Any

from console import print_json
from host_gateway import intents, settings
from host_gateway.cli.common import add_common, audit, now, session_scope
from host_gateway.display import rupiah


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "intents", help="operations terminals could not resolve with the card"
    ).add_subparsers(dest="intents_command", required=True)
    listing = group.add_parser("list", help="reported stuck intents and what the host knows")
    add_common(listing)
    listing.set_defaults(func=cmd_list)
    settle = group.add_parser(
        "settle", help="book a stuck sale from the card's balances across its counter gap"
    )
    add_common(settle)
    settle.add_argument("intent_id")
    settle.add_argument("--operator", required=True, help="who decides (in the audit log)")
    settle.add_argument("--reason", required=True)
    settle.set_defaults(func=cmd_settle)

    config = subparsers.add_parser("settings", help="the host's own settings").add_subparsers(
        dest="settings_command", required=True
    )
    show = config.add_parser("show", help="every setting with its value")
    add_common(show)
    show.set_defaults(func=cmd_settings_show)
    change = config.add_parser("set", help="change a setting")
    add_common(change)
    change.add_argument("name", choices=sorted(settings.DEFAULTS))
    change.add_argument("value", type=int)
    change.set_defaults(func=cmd_settings_set)


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = intents.listing(session)
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        gap = row["gap"]
        seen = (
            f"gap {gap['after_counter']}..{gap['before_counter']} dropped {gap['drop']}"
            if gap
            else "no gap"
        )
        print(
            f"{row['intent_id']} {row['terminal']} card {row['card']} {row['kind']} counter "
            f"{row['expected_counter']} asked {_amounts(row['amounts'])} [{row['status']}] "
            f"host holds: {row['host_holds'] or 'nothing'}; {seen}"
        )
    return 0


def _amounts(amounts: dict[str, int]) -> str:
    return " ".join(f"{code} {rupiah(amount)}" for code, amount in amounts.items())


def cmd_settle(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        row = intents.settle(session, args.intent_id, args.operator, args.reason, now())
        audit(
            session,
            f"intents settle {args.intent_id} card {row.card_number} by {args.operator}: "
            f"{args.reason}",
        )
        value = {"intent_id": args.intent_id, "card": row.card_number, "settled_at": row.settled_at}
    if args.json:
        print_json(value)
    else:
        print(f"intent {args.intent_id} settled: the debit is booked to suspense")
    return 0


def cmd_settings_show(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        values = settings.all_values(session)
    if args.json:
        print_json(values)
    else:
        for name, value in values.items():
            print(f"{name} = {value}")
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        settings.set_value(session, args.name, args.value)
        audit(session, f"settings set {args.name} {args.value}")
    if args.json:
        print_json({args.name: args.value})
    else:
        print(f"{args.name} = {args.value}")
    return 0
