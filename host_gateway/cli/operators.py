"""Shops, programs, enrollment codes and terminals."""

from __future__ import annotations

import argparse
from typing import Any

from console import UserError
from host_gateway import enrollment, gaps, postings, shops
from host_gateway.cli.common import add_common, audit, now, output, session_scope
from host_gateway.cli.programs import add_define
from host_gateway.display import rupiah, wita


def register(subparsers: Any) -> None:
    shop = subparsers.add_parser("shops", help="partner shops").add_subparsers(
        dest="shops_command", required=True
    )
    add = shop.add_parser("add", help="register a shop")
    add_common(add)
    add.add_argument("--name", required=True)
    add.add_argument("--kind", choices=shops.SHOP_KINDS, default="mitra")
    add.add_argument("--id", dest="shop_id", default=None, help="shop id (default: next S0001)")
    add.set_defaults(func=cmd_shop_add)
    listing = shop.add_parser("list", help="list shops")
    add_common(listing)
    listing.set_defaults(func=cmd_shop_list)

    code = subparsers.add_parser("enroll-code", help="one-time code to enroll a terminal")
    add_common(code)
    code.add_argument("--shop", required=True)
    code.add_argument("--days", type=int, default=7, help="days the code stays valid")
    code.set_defaults(func=cmd_enroll_code)

    terminals = subparsers.add_parser("terminals", help="enrolled terminals").add_subparsers(
        dest="terminals_command", required=True
    )
    tlist = terminals.add_parser("list", help="list terminals")
    add_common(tlist)
    tlist.set_defaults(func=cmd_terminal_list)
    revoke = terminals.add_parser("revoke", help="refuse a terminal from now on")
    add_common(revoke)
    revoke.add_argument("terminal_id")
    revoke.add_argument("--reason", default="revoked by operator")
    revoke.set_defaults(func=cmd_terminal_revoke)

    programs = subparsers.add_parser("programs", help="aid programs (purses)").add_subparsers(
        dest="programs_command", required=True
    )
    padd = programs.add_parser("add", help="add a program")
    add_common(padd)
    padd.add_argument("--code", required=True, help="4 characters A-Z0-9, e.g. APBD")
    padd.add_argument("--name", required=True)
    padd.set_defaults(func=cmd_program_add)
    plist = programs.add_parser("list", help="list programs")
    add_common(plist)
    plist.set_defaults(func=cmd_program_list)
    fund = programs.add_parser("fund", help="record money received in the giro for a program")
    add_common(fund)
    fund.add_argument("--code", required=True)
    fund.add_argument("--amount", type=int, required=True, help="whole rupiah")
    fund.set_defaults(func=cmd_program_fund)
    add_define(programs)


def cmd_shop_add(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        shop = shops.add_shop(session, args.name, args.kind, now(), args.shop_id)
        audit(session, f"shops add {shop.id}")
        value = {"id": shop.id, "name": shop.name, "kind": shop.kind}
    return output(args, value, f"shop {value['id']} added: {value['name']} ({value['kind']})")


def cmd_shop_list(args: argparse.Namespace) -> int:
    """Shops with what is owed to them and what a payout must hold back (unexplained credit)."""
    with session_scope(args) as (session, _):
        held = gaps.held_by_shop(session)
        rows: list[dict[str, Any]] = [
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "payable": shops.payable(session, s.id),
                "held": held.get(s.id, 0),
            }
            for s in shops.list_shops(session)
        ]
    text = "\n".join(
        f"{r['id']:8s} {r['kind']:8s} payable {rupiah(r['payable']):>16} "
        f"held {rupiah(r['held']):>14} {r['name']}"
        for r in rows
    )
    return output(args, rows, text)


def cmd_enroll_code(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        code = enrollment.create_code(session, args.shop, now(), args.days)
        audit(session, f"enroll-code for shop {args.shop}")
    return output(args, {"shop": args.shop, "code": code, "valid_days": args.days}, code)


def cmd_terminal_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows: list[dict[str, Any]] = [
            {
                "id": t.id,
                "shop": t.shop_id,
                "revoked": t.revoked_at is not None,
                "contiguous_seq": t.contiguous_seq,
                "last_seen": t.last_seen,
                "clock_skew": t.last_skew,
            }
            for t in enrollment.list_terminals(session)
        ]
    text = "\n".join(
        f"{r['id']} {r['shop']:8s} seq {r['contiguous_seq']:>8} "
        f"{'REVOKED' if r['revoked'] else 'active'} last seen {wita(r['last_seen'])} "
        f"skew {r['clock_skew'] if r['clock_skew'] is not None else '-'} s"
        for r in rows
    )
    return output(args, rows, text)


def cmd_terminal_revoke(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        terminal = enrollment.revoke(session, args.terminal_id, args.reason, now())
        audit(session, f"terminals revoke {terminal.id}: {args.reason}")
        value = {"id": terminal.id, "revoked_at": terminal.revoked_at, "reason": args.reason}
    return output(args, value, f"terminal {value['id']} revoked")


def cmd_program_add(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        program = shops.add_program(session, args.code, args.name, now())
        audit(session, f"programs add {program.code}")
        value = {"code": program.code, "name": program.name}
    return output(args, value, f"program {value['code']} added: {value['name']}")


def cmd_program_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = [{"code": p.code, "name": p.name} for p in shops.list_programs(session)]
    return output(args, rows, "\n".join(f"{r['code']}  {r['name']}" for r in rows))


def cmd_program_fund(args: argparse.Namespace) -> int:
    if args.amount <= 0:
        raise UserError("amount must be a positive number of rupiah")
    with session_scope(args) as (session, _):
        if args.code not in {p.code for p in shops.list_programs(session)}:
            raise UserError(f"unknown program {args.code}")
        entry = postings.Entry("funding", f"giro funding for {args.code}")
        postings.post(
            session, now(), [entry.transfer(postings.GIRO, postings.fund(args.code), args.amount)]
        )
        audit(session, f"programs fund {args.code} {rupiah(args.amount)}")
    return output(args, {"program": args.code, "amount": args.amount}, "funded")
