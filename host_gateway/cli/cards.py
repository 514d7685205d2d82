"""Cards (issue, register, show, hotlist, unblock-pin, superseded) and loads: what the seed and
issuance commands drive."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select

from console import UserError, print_json
from drivers.card.readers import connected_card
from drivers.card.transport import CardError, NoCard
from host_gateway import cards, cardview, distribution, loads, pin_unblocks
from host_gateway.cli.common import (
    add_common,
    audit,
    database,
    need_keys,
    now,
    operator,
    output,
    session_scope,
)
from host_gateway.display import rupiah, wita
from host_gateway.issuance import issue_card
from host_gateway.models import Card, CardProgram
from host_gateway.programs.superseded import superseded_loads
from host_gateway.unblock_reader import unblock_at_reader
from ledger.cardproofs import UNBLOCK_ORDER_DAYS
from ledger.verify import business_date


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("cards", help="Kartu SSN cards").add_subparsers(
        dest="cards_command", required=True
    )
    reg = group.add_parser("register", help="register a card and certify its public key")
    _add_card_fields(reg)
    reg.add_argument("--public-key", required=True, help="the card's Ed25519 key, 64 hex digits")
    reg.set_defaults(func=cmd_register)

    issue = group.add_parser("issue", help="personalize the blank card in a reader and register it")
    _add_card_fields(issue)
    issue.add_argument("--reader", default=None, help="reader name, or sim:FILE (default: first)")
    issue.add_argument("--pin", required=True, help="the holder's first PIN (4 to 12 digits)")
    issue.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a card")
    issue.set_defaults(func=cmd_issue)

    show = group.add_parser("show", help="a card's status, shadow balances and counters")
    add_common(show)
    show.add_argument("number")
    show.set_defaults(func=cmd_show)

    hot = group.add_parser("hotlist", help="put a card on the hotlist")
    add_common(hot)
    hot.add_argument("number")
    hot.add_argument(
        "--reason",
        type=int,
        default=cards.BLOCK_LOST,
        help="1 lost, 2 cloned, 3 fraud, 4 ineligible, 5 spoiled",
    )
    hot.add_argument("--note", default="")
    hot.add_argument("--no-block", action="store_true", help="no block order for the card")
    hot.add_argument(
        "--valid-days",
        type=int,
        default=cards.BLOCK_ORDER_DAYS,
        help=f"validity of the block order (default {cards.BLOCK_ORDER_DAYS})",
    )
    hot.set_defaults(func=cmd_hotlist)

    unblock = group.add_parser(
        "unblock-pin", help="sign a PIN-unblock order for a holder who used up the PIN tries"
    )
    add_common(unblock)
    unblock.add_argument("number")
    unblock.add_argument("--operator", required=True, help="who asks (named in the audit log)")
    unblock.add_argument(
        "--tries",
        type=int,
        default=pin_unblocks.DEFAULT_TRIES,
        help=f"PIN tries the card gets back (default {pin_unblocks.DEFAULT_TRIES})",
    )
    unblock.add_argument(
        "--days",
        type=int,
        default=UNBLOCK_ORDER_DAYS,
        help=f"validity of the order (default {UNBLOCK_ORDER_DAYS})",
    )
    unblock.add_argument(
        "--reader",
        default=None,
        help="apply it now to the card in this reader (sim:FILE for the simulator)",
    )
    unblock.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a card")
    unblock.set_defaults(func=cmd_unblock_pin)

    assign = group.add_parser(
        "assign", help="the holder's shop: its terminals carry the card's loads offline"
    )
    add_common(assign)
    assign.add_argument("number")
    assign.add_argument("--shop", required=True)
    assign.set_defaults(func=cmd_assign)

    superseded = group.add_parser(
        "superseded", help="loads an ended card never took: carried, and taken anyway (held)"
    )
    add_common(superseded)
    superseded.add_argument("--limit", type=int, default=200, help="newest first, at most")
    superseded.set_defaults(func=cmd_superseded)

    load_group = subparsers.add_parser("loads", help="benefit loads").add_subparsers(
        dest="loads_command", required=True
    )
    create = load_group.add_parser("create", help="authorize loads to cards")
    add_common(create)
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--card", action="append", help="card number (repeatable)")
    target.add_argument("--all", action="store_true", help="every active card in the program")
    create.add_argument("--program", required=True)
    create.add_argument("--amount", type=int, required=True, help="whole rupiah")
    create.add_argument("--expiry", type=dt.date.fromisoformat, required=True, help="YYYY-MM-DD")
    create.set_defaults(func=cmd_load_create)


def _add_card_fields(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--holder", required=True, help="holder's display name")
    parser.add_argument("--programs", required=True, help="comma-separated, e.g. APBD,BZNS")
    parser.add_argument("--number", default=None, help="card number (default: the next one)")
    parser.add_argument("--nik", default=None, help="16-digit NIK, stored encrypted")
    parser.add_argument("--valid-until", type=dt.date.fromisoformat, default=None)


def _programs(args: argparse.Namespace) -> list[str]:
    return [p.strip() for p in args.programs.split(",") if p.strip()]


def cmd_register(args: argparse.Namespace) -> int:
    try:
        public_key = bytes.fromhex(args.public_key)
    except ValueError as exc:
        raise UserError("--public-key must be hex") from exc
    with session_scope(args, with_keys=True) as (session, keys):
        issued = cards.register_card(
            session,
            need_keys(keys),
            holder_name=args.holder,
            programs=_programs(args),
            public_key=public_key,
            now=now(),
            number=args.number,
            nik=args.nik,
            valid_until=args.valid_until,
        )
        audit(session, f"cards register {issued.card.number} ({','.join(issued.programs)})")
        value = _issued_json(issued)
    if args.json:
        print_json(value)
    else:
        print(f"card {value['number']} registered; certificate:\n{value['certificate']}")
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    try:
        with (
            connected_card(args.reader, args.wait) as (_, connection),
            database(args, with_keys=True) as (factory, keys),
        ):
            issued = issue_card(
                factory,
                need_keys(keys),
                connection,
                holder_name=args.holder,
                programs=_programs(args),
                pin=args.pin,
                now=now(),
                operator=operator(),
                number=args.number,
                nik=args.nik,
                valid_until=args.valid_until,
            )
    except NoCard as exc:
        raise UserError(f"card reader: {exc} (insert a blank card)") from exc
    except CardError as exc:
        raise UserError(f"card reader: {exc}") from exc
    value = _issued_json(issued)
    if args.json:
        print_json(value)
    else:
        print(f"card {value['number']} issued to {value['holder']} ({','.join(value['programs'])})")
    return 0


def _issued_json(issued: cards.Issued) -> dict[str, Any]:
    return {
        "number": issued.card.number,
        "holder": issued.card.holder_name,
        "programs": list(issued.programs),
        "valid_until": issued.card.valid_until.isoformat(),
        "certificate": issued.certificate.encode().hex(),
    }


def cmd_show(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        value = cardview.summary(session, args.number)
        value["pin_unblocks"] = [
            pin_unblocks.describe(row, business_date(now()))
            for row in pin_unblocks.orders_of(session, args.number)
        ]
    purses = value["purses"]
    if args.json:
        print_json(value)
    else:
        print(f"{value['number']} {value['holder']} [{value['status']}]")
        for code, p in purses.items():
            last = p["card_signed"]
            print(f"  {code}: shadow {rupiah(p['shadow'] or 0)}  card signed "
                  f"{'-' if last is None else rupiah(last)}")  # fmt: skip
        if value["counter_gaps"]:
            print(f"  missing card counters: {value['counter_gaps']}")
        for order in value["pin_unblocks"]:
            print(f"  PIN unblock {_unblock_line(order)}")
    return 0


def _unblock_line(order: dict[str, Any]) -> str:
    line = f"#{order['unblock_seq']} ({order['tries']} tries) {order['state']}"
    if order["state"] == "applied":
        return f"{line} at {order['applied_terminal']} {wita(order['applied_at'])}"
    return f"{line}, valid until {order['valid_until']}, asked by {order['created_by']}"


def cmd_superseded(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = superseded_loads(session, max(1, args.limit))
    if args.json:
        print_json([{**dataclasses.asdict(r), "in_suspense": r.in_suspense} for r in rows])
        return 0
    if not rows:
        print("no load was superseded")
    for r in rows:
        to = f"{r.new_card} load {r.new_load_seq}" if r.new_card else "the program's fund"
        line = f"{r.old_card} load {r.load_seq} {r.program} {rupiah(r.amount)} -> {to}"
        line += f" at {wita(r.at)}"
        if r.taken:
            where = ", ".join(t.reference for t in r.taken)
            line += f"; taken by the old card anyway ({where}): held in suspense, not paid twice"
        print(line)
    return 0


def cmd_unblock_pin(args: argparse.Namespace) -> int:
    today = business_date(now())
    if args.reader is None:
        with session_scope(args, with_keys=True) as (session, keys):
            row = pin_unblocks.issue_unblock(
                session,
                need_keys(keys),
                args.number,
                operator=args.operator,
                now=now(),
                tries=args.tries,
                valid_days=args.days,
            )
            value = pin_unblocks.describe(row, today)
        text = (
            f"PIN-unblock order {value['unblock_seq']} for card {args.number} signed, valid until"
            f" {value['valid_until']}: terminals that served the card apply it when it is presented"
        )
        return output(args, value, text)
    try:
        with (
            connected_card(args.reader, args.wait) as (_, connection),
            database(args, with_keys=True) as (factory, keys),
        ):
            row = unblock_at_reader(
                factory,
                need_keys(keys),
                connection,
                args.number,
                operator=args.operator,
                now=now(),
                tries=args.tries,
                valid_days=args.days,
            )
    except NoCard as exc:
        raise UserError(f"card reader: {exc} (insert the holder's card)") from exc
    except CardError as exc:
        raise UserError(f"card reader: {exc}") from exc
    value = pin_unblocks.describe(row, today)
    text = (
        f"card {args.number}: PIN unblocked ({value['tries']} tries), order {value['unblock_seq']}"
    )
    return output(args, value, text)


def cmd_hotlist(args: argparse.Namespace) -> int:
    with session_scope(args, with_keys=True) as (session, keys):
        entry = cards.hotlist_card(
            session,
            need_keys(keys),
            args.number,
            args.reason,
            args.note,
            now(),
            block=not args.no_block,
            valid_days=args.valid_days,
        )
        audit(session, f"cards hotlist {args.number} reason {args.reason}")
        value = {
            "card": args.number,
            "hotlist_version": entry.version,
            "block_order": entry.block_order is not None,
        }
    if args.json:
        print_json(value)
    else:
        print(f"card {args.number} hotlisted (hotlist version {value['hotlist_version']})")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        terminals = distribution.assign_card(session, args.number, args.shop)
        audit(session, f"cards assign {args.number} to shop {args.shop}")
    if args.json:
        print_json({"card": args.number, "shop": args.shop, "terminals": terminals})
    else:
        print(f"card {args.number} served by {', '.join(terminals)}")
    return 0


def cmd_load_create(args: argparse.Namespace) -> int:
    with session_scope(args, with_keys=True) as (session, keys):
        numbers = args.card or list(
            session.scalars(
                select(Card.number)
                .join(CardProgram, CardProgram.card_number == Card.number)
                .where(CardProgram.program_code == args.program, Card.status == "active")
                .order_by(Card.number)
            )
        )
        created = []
        for number in numbers:
            load = loads.create_load(
                session,
                need_keys(keys),
                card_number=number,
                program=args.program,
                amount=args.amount,
                expiry=args.expiry,
                now=now(),
            )
            created.append({"card": number, "load_seq": load.load_seq, "amount": load.amount})
        audit(session, f"loads create {len(created)} x {rupiah(args.amount)} {args.program}")
    if args.json:
        print_json(created)
    else:
        print(f"{len(created)} loads of {rupiah(args.amount)} authorized for {args.program}")
    return 0
