"""What the card commands of ``ssn-terminal`` share: opening the terminal's home as a till,
finding the card in the reader, and reporting an outcome with a meaningful exit code.

An operation's outcome (what the card paid, balances, record id) is shown, and flushed, before
its receipt prints: whatever happens to printing afterwards (a slow printer, Ctrl-C, kill -9),
the cashier has seen that the sale went through. Human lines go to stdout, or to stderr with
``--json`` (stdout then holds one JSON object, written at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from console import UserError, print_json
from drivers.card.readers import connected_card
from drivers.card.session import CardSession
from drivers.card.transport import CardError, NoCard, NoReader, PcscdNotRunning
from terminal.backoff import Backoff
from terminal.cli.card import EXIT_NO_CARD, EXIT_NO_READER, EXIT_PCSCD
from terminal.gateway_client import GatewayClient, SyncError, card_lookup
from terminal.home import TerminalHome, add_data_dir_argument, default_data_dir
from terminal.messages import message
from terminal.receipts.config import ReceiptConfig
from terminal.receipts.model import Language
from terminal.receipts.printlock import PrinterLock
from terminal.receipts.queue import HeldPolicy, PrintQueue
from terminal.receipts.strings import strings_for
from terminal.sale import Outcome, Status, Till, mark_interrupted

EXIT_REFUSED = 10
EXIT_UNRESOLVED = 11


def add_card_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir_argument(parser)
    parser.add_argument(
        "--reader", default=None, help="reader name, or sim:FILE (default: configured)"
    )
    parser.add_argument(
        "--wait", type=float, default=5.0, metavar="SECONDS", help="how long to wait for a card"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


LOOKUP_SECONDS = 1.5
"""How long a presented card may wait for the host's view of it (only when online)."""


@contextlib.contextmanager
def open_till(args: argparse.Namespace) -> Iterator[Till]:
    """The terminal's home as a till; interrupted operations are marked for their card."""
    home = TerminalHome.open(default_data_dir(args.data_dir))
    try:
        with till_for(home) as till:
            yield till
    finally:
        home.close()


@contextlib.contextmanager
def till_for(home: TerminalHome) -> Iterator[Till]:
    """A till on an open home: its printer queue, and the host asked about a presented card
    while online. Interrupted operations are marked for their card first."""
    mark_interrupted(home.journal)
    config = home.config
    receipts = ReceiptConfig(language=Language(config.receipt_language))
    queue = None
    if config.printer_url:
        from drivers.printer.printer import open_printer  # python-escpos: slow to import

        printer = open_printer(config.printer_url, language=config.receipt_language)
        queue = PrintQueue(
            home.journal,
            printer,
            config=receipts,
            lock=PrinterLock(home.paths.data_dir),
            held=HeldPolicy(config.held_receipts),
            foreground_seconds=config.print_wait_seconds,
        )
    till = Till(config, home.journal, print_queue=queue, receipt_config=receipts)
    with contextlib.ExitStack() as stack:
        if config.gateway_url:
            try:
                client = GatewayClient(
                    config.gateway_url,
                    config.terminal_id,
                    home.key,
                    timeout=LOOKUP_SECONDS,
                    backoff=Backoff(attempts=1),
                    ca_pem=config.gateway_ca,
                )
            except SyncError:
                client = None  # an insecure gateway URL: sell offline; sync says why
            if client is not None:
                stack.callback(client.close)
                till.ask_host = card_lookup(client)
        yield till


@contextlib.contextmanager
def card_in_reader(args: argparse.Namespace, till: Till) -> Iterator[CardSession]:
    """A session on the card in the reader, held exclusively for the operation."""
    try:
        with connected_card(args.reader or till.config.reader_name, args.wait) as (_, connection):
            yield CardSession(connection, till.config.ca_keys)
    except PcscdNotRunning as exc:
        raise UserError(str(exc), EXIT_PCSCD) from exc
    except NoReader as exc:
        raise UserError(str(exc), EXIT_NO_READER) from exc
    except NoCard as exc:
        raise UserError(till.say("no_card") + f" ({exc})", EXIT_NO_CARD) from exc
    except CardError as exc:
        raise UserError(till.say("reader_error", detail=str(exc)), EXIT_NO_CARD) from exc


def report(till: Till, outcome: Outcome, as_json: bool) -> int:
    """Show the outcome, then print the operation's receipts in front of its holder, then say
    how printing went. Ctrl-C while printing stops the printing only: the outcome stands."""
    human = sys.stderr if as_json else sys.stdout
    _print_outcome(outcome.to_json(), human)
    human.flush()
    outcome = _print_receipts(till, outcome)
    if as_json:
        print_json(outcome.to_json())
    _print_printing(outcome, till, human)
    human.flush()
    if outcome.status is Status.COMPLETED:
        return 0
    return EXIT_UNRESOLVED if outcome.status is Status.UNRESOLVED else EXIT_REFUSED


def _print_receipts(till: Till, outcome: Outcome) -> Outcome:
    try:
        return till.print_receipts(outcome)
    except KeyboardInterrupt:
        queue = till.print_queue
        jobs = till.receipts_to_print(outcome)
        said = queue.interrupted(jobs) if queue is not None else None
        return dataclasses.replace(outcome, printed=False, print_message=said)


def _print_outcome(value: dict[str, Any], out: TextIO) -> None:
    status = value["status"].upper() + (f": {value['message']}" if value["message"] else "")
    print(status, file=out)
    if value["record_id"]:
        print(f"record {value['record_id']} (seq {value['seq']})", file=out)
    for purse in value["purses"]:
        print(f"  paid from {purse['code']}: Rp{purse['amount']:,}".replace(",", "."), file=out)
    for balance in value["balances_after"]:
        rupiah = f"Rp{balance['balance']:,}".replace(",", ".")
        print(f"  balance {balance['code']}: {rupiah}", file=out)
    for line in value["refused_lines"]:
        what = f"{line['name']} ({line['gtin']})" if line["name"] else line["gtin"]
        print(f"  refused {what} x{line['quantity']}: {message(line['reason'], 'en')}", file=out)


def _print_printing(outcome: Outcome, till: Till, out: TextIO) -> None:
    """The printer's part in the cashier's words: done, or what is wrong and what happens next;
    conditions that need no action now (paper near end) either way."""
    if outcome.print_message:
        print(f"printer: {outcome.print_message}", file=out)
    elif outcome.printed:
        print(f"printer: {strings_for(till.receipt_config.language).queue_printed}", file=out)
    for warning in outcome.print_warnings:
        print(f"printer: {warning}", file=out)
