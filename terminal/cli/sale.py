"""``ssn-terminal sale | balance | day-close``: card operations run headless.

What tests, the fleet driver and automation use; the cashier app (to come) calls the same
engine.
Exit codes: 0 done, 10 refused (nothing moved), 11 unresolved (present the same card again),
2 bad input, 3 pcscd not running, 4 no reader, 5 no card.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from typing import Any

from console import UserError
from terminal.basket import ScannedItem
from terminal.cli.runtime import add_card_arguments, card_in_reader, open_till, report
from terminal.home import add_data_dir_argument
from terminal.sale import Status, balance_inquiry, close_day, sell, void_sale

_ITEM = re.compile(r"(?P<gtin>\d{4,14})(?:[xX*](?P<qty>\d{1,4}))?")


def parse_items(text: str) -> list[ScannedItem]:
    """``GTIN[xQTY],...`` as scanned items; anything else is a clear error."""
    items = []
    for part in (p.strip() for p in text.split(",")):
        match = _ITEM.fullmatch(part)
        if match is None:
            raise UserError(
                f"not an item: {part!r} (expected GTIN or GTINxQTY, e.g. 8991000000126x2)"
            )
        quantity = int(match["qty"] or 1)
        if quantity < 1:
            raise UserError(f"quantity must be at least 1 in {part!r}")
        items.append(ScannedItem(match["gtin"], quantity))
    if not items:
        raise UserError("no items given")
    return items


def register(subparsers: Any) -> None:
    sale = subparsers.add_parser("sale", help="sell items to the card in the reader")
    sale.add_argument("--items", required=True, help="GTIN[xQTY],... as scanned")
    sale.add_argument("--pin", required=True, help="the holder's PIN")
    sale.add_argument("--cashier", default="kasir", help="who is at the till")
    sale.add_argument("--cash", action="store_true", help="the holder pays what the card cannot")
    sale.add_argument(
        "--cancel",
        action="store_true",
        help="cancel the sale at once, card still in the reader (needs --supervisor-pin); "
        "later, only a refund at the host gives money back",
    )
    sale.add_argument("--supervisor-pin", help="with --cancel")
    sale.add_argument("--supervisor", default="supervisor")
    sale.add_argument("--reason", default="dibatalkan")
    add_card_arguments(sale)
    sale.set_defaults(func=_sale)

    balance = subparsers.add_parser("balance", help="balances and caps of the card in the reader")
    balance.add_argument("--pin", required=True)
    balance.add_argument("--print", dest="print_slip", action="store_true", help="print a slip")
    add_card_arguments(balance)
    balance.set_defaults(func=_balance)

    close = subparsers.add_parser("day-close", help="close the business day (Z report)")
    close.add_argument("--date", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")
    close.add_argument("--cashier", default="kasir")
    close.add_argument("--json", action="store_true")
    add_data_dir_argument(close)
    close.set_defaults(func=_day_close)


def _sale(args: argparse.Namespace) -> int:
    items = parse_items(args.items)
    if args.cancel and not args.supervisor_pin:
        raise UserError("--cancel needs --supervisor-pin")
    with open_till(args) as till, till.serving():
        cancelled = None
        with card_in_reader(args, till) as session:
            outcome = sell(
                till, session, items, args.pin, cashier=args.cashier, allow_cash=args.cash
            )
            if args.cancel and outcome.status is Status.COMPLETED and outcome.record_id:
                # Same card session: the card still holds the debit as cancellable.
                cancelled = void_sale(
                    till,
                    session,
                    outcome.record_id,
                    args.supervisor_pin,
                    supervisor=args.supervisor,
                    reason=args.reason,
                )
        if cancelled is None:
            return report(till, outcome, args.json)
        if args.json:  # one document on stdout: the cancellation, naming the sale
            till.print_receipts(outcome)
        else:
            report(till, outcome, False)
        return report(till, cancelled, args.json)


def _balance(args: argparse.Namespace) -> int:
    with open_till(args) as till, till.serving():
        with card_in_reader(args, till) as session:
            outcome = balance_inquiry(till, session, args.pin, print_slip=args.print_slip)
        return report(till, outcome, args.json)


def _day_close(args: argparse.Namespace) -> int:
    with open_till(args) as till, till.serving():
        outcome = close_day(till, args.date, args.cashier)
        return report(till, outcome, args.json)
