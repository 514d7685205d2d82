"""``recipients``: validate and import the data portal's CSV, list recipients (NIK masked),
reveal a NIK (audited), and a recipient's card: issue, replace, close
(host_gateway/programs)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from console import UserError, print_json
from drivers.card.readers import connected_card
from drivers.card.transport import CardError, CardTransport, NoCard
from host_gateway import cards
from host_gateway.cli.common import (
    add_common,
    audit,
    database,
    need_keys,
    now,
    operator,
    session_scope,
)
from host_gateway.programs import cardlife, recipients
from host_gateway.programs.identity import Identities
from host_gateway.programs.models import Recipient


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "recipients", help="aid recipients and their cards"
    ).add_subparsers(dest="recipients_command", required=True)
    validate = group.add_parser("validate", help="check a portal CSV; stores nothing")
    add_common(validate)
    validate.add_argument("file", type=Path)
    validate.set_defaults(func=cmd_validate)
    imp = group.add_parser("import", help="import a portal CSV: all rows or none")
    add_common(imp)
    imp.add_argument("file", type=Path)
    imp.add_argument("--exclude-bad", action="store_true", help="import the good rows only")
    imp.set_defaults(func=cmd_import)
    listing = group.add_parser("list", help="recipients, NIK masked")
    add_common(listing)
    listing.add_argument("--kelurahan", default=None)
    listing.set_defaults(func=cmd_list)
    reveal = group.add_parser("reveal-nik", help="show one NIK in clear (audited)")
    add_common(reveal)
    reveal.add_argument("recipient", type=int)
    reveal.add_argument("--reason", required=True, help="why, for the audit log")
    reveal.set_defaults(func=cmd_reveal)

    issue = group.add_parser("issue-card", help="personalize the blank card in a reader")
    _reader_args(issue)
    issue.add_argument("recipient", type=int)
    issue.add_argument("--display-name", default=None, help="the name the recipient chose")
    issue.set_defaults(func=cmd_issue)
    replace = group.add_parser("replace-card", help="lost or damaged: hotlist, issue, carry over")
    _reader_args(replace)
    replace.add_argument("old_card")
    replace.add_argument("--damaged", action="store_true", help="damaged, not lost")
    replace.set_defaults(func=cmd_replace)
    close = group.add_parser("close-card", help="the recipient leaves: value back to programs")
    add_common(close)
    close.add_argument("card")
    close.set_defaults(func=cmd_close)
    book = group.add_parser("book-ended", help="book late debits of replaced and closed cards")
    add_common(book)
    book.set_defaults(func=cmd_book)


def _reader_args(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--reader", default=None, help="reader name, or sim:FILE (default: first)")
    parser.add_argument("--pin", required=True, help="the holder's first PIN (4 to 12 digits)")
    parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a card")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc


def cmd_validate(args: argparse.Namespace) -> int:
    data = _read(args.file)
    with session_scope(args, with_keys=True) as (session, keys):
        report = recipients.validate(session, Identities(need_keys(keys).nik_key), data)
    _print_report(args, report.summary())
    return 1 if report.bad else 0


def cmd_import(args: argparse.Namespace) -> int:
    data = _read(args.file)
    with session_scope(args, with_keys=True) as (session, keys):
        report = recipients.import_rows(
            session, Identities(need_keys(keys).nik_key), data, now(), exclude_bad=args.exclude_bad
        )
        audit(
            session,
            f"recipients import {args.file.name}: {len(report.new)} new, {report.unchanged}"
            f" unchanged, {len(report.bad)} excluded",
        )
    _print_report(args, report.summary())
    return 0


def _print_report(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    if args.json:
        print_json(summary)
        return
    print(f"{summary['rows']} rows: {summary['new']} new, {summary['unchanged']} unchanged")
    for bad in summary["bad"]:
        print(f"  line {bad['line']}: {bad['reason']}")


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(args, with_keys=True) as (session, keys):
        ids = Identities(need_keys(keys).nik_key)
        query = select(Recipient).order_by(Recipient.id)
        if args.kelurahan:
            query = query.where(Recipient.kelurahan == args.kelurahan)
        rows = [
            {
                "id": r.id,
                "nik": recipients.masked_nik(ids, r),
                "name": r.name,
                "kelurahan": r.kelurahan,
                "kecamatan": r.kecamatan,
                "status": r.status,
                "card": r.card_number,
                "programs": recipients.programs_of(session, r.id),
            }
            for r in session.scalars(query)
        ]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:6} {row['nik']} {row['name']} ({row['kelurahan']}) {row['card']}")
    return 0


def cmd_reveal(args: argparse.Namespace) -> int:
    with session_scope(args, with_keys=True) as (session, keys):
        nik = recipients.reveal_nik(
            session,
            Identities(need_keys(keys).nik_key),
            args.recipient,
            operator=operator(),
            reason=args.reason,
            now=now(),
        )
    if args.json:
        print_json({"recipient": args.recipient, "nik": nik})
    else:
        print(nik)
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    with _card(args) as connection, database(args, with_keys=True) as (factory, keys):
        issued = cardlife.issue_for_recipient(
            factory,
            need_keys(keys),
            connection,
            recipient_id=args.recipient,
            display_name=args.display_name,
            pin=args.pin,
            now=now(),
            operator=operator(),
        )
    value = {"recipient": args.recipient, "card": issued.card.number, "programs": issued.programs}
    if args.json:
        print_json(value)
    else:
        print(f"card {issued.card.number} issued for recipient {args.recipient}")
    return 0


def cmd_replace(args: argparse.Namespace) -> int:
    reason = cards.BLOCK_SPOILED if args.damaged else cards.BLOCK_LOST
    with _card(args) as connection, database(args, with_keys=True) as (factory, keys):
        issued, carried = cardlife.replace(
            factory,
            need_keys(keys),
            connection,
            old_number=args.old_card,
            pin=args.pin,
            now=now(),
            operator=operator(),
            reason=reason,
        )
    value = {"old_card": args.old_card, "card": issued.card.number, "carried": carried}
    if args.json:
        print_json(value)
    else:
        print(f"card {args.old_card} replaced by {issued.card.number}; carried over {carried}")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    with session_scope(args, with_keys=True) as (session, keys):
        moved = cardlife.close(session, need_keys(keys), args.card, now())
        audit(session, f"recipients close-card {args.card}")
    returned = {account.rsplit(":", 1)[1]: -amount for account, amount in moved.items()}
    if args.json:
        print_json({"card": args.card, "returned": returned})
    else:
        print(f"card {args.card} closed; returned to the programs: {returned}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        moved = cardlife.book_differences(session, now())
        audit(session, f"recipients book-ended: {len(moved)} purses")
    if args.json:
        print_json(moved)
    else:
        print(f"{len(moved)} purses of ended cards booked")
    return 0


@contextmanager
def _card(args: argparse.Namespace) -> Iterator[CardTransport]:
    """The card in the reader, with the reader's errors as one clear line."""
    try:
        with connected_card(args.reader, args.wait) as (_, connection):
            yield connection
    except NoCard as exc:
        raise UserError(f"card reader: {exc} (insert a blank card)") from exc
    except CardError as exc:
        raise UserError(f"card reader: {exc}") from exc
