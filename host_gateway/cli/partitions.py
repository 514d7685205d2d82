"""``ssn-gateway partitions``: the month partitions of records and the journal (PostgreSQL).

``ensure`` creates the months ahead (``serve`` does it at start too); run it from cron monthly
so a gateway that runs for months never writes into the default partition. On SQLite there
are no partitions and both commands say so.
"""

from __future__ import annotations

import argparse
from typing import Any

from console import UserError, print_json
from host_gateway import partitions
from host_gateway.cli.common import add_common, now, session_scope


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "partitions", help="month partitions of records and the journal (PostgreSQL)"
    ).add_subparsers(dest="partitions_command", required=True)
    ensure = group.add_parser("ensure", help="create the coming months' partitions")
    add_common(ensure)
    ensure.add_argument(
        "--months",
        type=int,
        default=partitions.MONTHS_AHEAD,
        help=f"months after the current one (default {partitions.MONTHS_AHEAD})",
    )
    ensure.set_defaults(func=cmd_ensure)
    listing = group.add_parser("list", help="every partition with its bounds and rows")
    add_common(listing)
    listing.set_defaults(func=cmd_list)


def cmd_ensure(args: argparse.Namespace) -> int:
    if args.months < 0:
        raise UserError("--months must be 0 or more")
    with session_scope(args) as (session, _):
        connection = session.connection()
        created = partitions.ensure(connection, now(), args.months)
        result = {"partitioned": partitions.is_partitioned(connection), "created": created}
    if args.json:
        print_json(result)
    elif not result["partitioned"]:
        print("this database has no partitions (SQLite)")
    else:
        print(f"created {len(created)} partitions" + "".join(f"\n  {n}" for n in created))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = partitions.listing(session.connection())
    if args.json:
        print_json({"partitions": rows})
    elif not rows:
        print("this database has no partitions (SQLite)")
    for row in rows:
        print(f"{row['partition']:28} {row['bounds']:60} ~{row['rows_estimate']} rows")
    return 0
