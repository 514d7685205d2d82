"""``ssn-gateway users``: operators of the web console. The first administrator is made here;
the password comes from ``$SSN_CONSOLE_PASSWORD`` or is typed (never a command-line argument,
which other users of the machine could read)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from console import UserError, print_json
from host_gateway.cli.common import add_common, now, operator, output, session_scope
from host_gateway.display import wita
from host_gateway.web import users
from host_gateway.web.roles import Role

PASSWORD_ENV = "SSN_CONSOLE_PASSWORD"


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("users", help="web console operators").add_subparsers(
        dest="users_command", required=True
    )
    add = group.add_parser("add", help=f"add an operator (password: ${PASSWORD_ENV} or typed)")
    add_common(add)
    add.add_argument("username")
    add.add_argument("--name", required=True, help="full name shown in the console")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.set_defaults(func=cmd_add)
    listing = group.add_parser("list", help="operators, roles and lock state")
    add_common(listing)
    listing.set_defaults(func=cmd_list)
    passwd = group.add_parser("passwd", help="set a new password")
    add_common(passwd)
    passwd.add_argument("username")
    passwd.set_defaults(func=cmd_passwd)
    for name, helptext in (("unlock", "lift a lockout"), ("disable", "stop an operator")):
        sub = group.add_parser(name, help=helptext)
        add_common(sub)
        sub.add_argument("username")
        sub.set_defaults(func=cmd_unlock if name == "unlock" else cmd_disable)


def _password() -> str:
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise UserError(f"set {PASSWORD_ENV} or run on a terminal to type the password")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise UserError("the passwords differ")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    password = _password()
    with session_scope(args) as (session, _):
        user = users.add_user(
            session, operator(), args.username, args.name, args.role, password, now()
        )
        value = {"username": user.username, "name": user.full_name, "role": user.role}
    return output(args, value, f"user {value['username']} added as {value['role']}")


def cmd_list(args: argparse.Namespace) -> int:
    at = now()
    with session_scope(args) as (session, _):
        rows: list[dict[str, Any]] = [
            {
                "username": u.username,
                "name": u.full_name,
                "role": u.role,
                "disabled": u.disabled,
                "locked_until": u.locked_until if (u.locked_until or 0) > at else None,
            }
            for u in users.list_users(session)
        ]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        state = "disabled" if r["disabled"] else "active"
        if r["locked_until"]:
            state = f"locked until {wita(r['locked_until'])}"
        print(f"{r['username']:20} {r['role']:16} {state:30} {r['name']}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    password = _password()
    with session_scope(args) as (session, _):
        users.set_password(session, operator(), args.username, password, now())
    return output(args, {"username": args.username}, f"password of {args.username} set")


def cmd_unlock(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        users.unlock(session, operator(), args.username, now())
    return output(args, {"username": args.username}, f"{args.username} unlocked")


def cmd_disable(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        users.set_disabled(session, operator(), args.username, True, now())
    return output(args, {"username": args.username}, f"{args.username} disabled")
