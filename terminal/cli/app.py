"""``ssn-terminal run``: the cashier app at the counter (Textual, in this terminal).

Sync runs in the background every ``--sync-interval`` seconds and the print queue prints what
waits; both stop when the app quits. ``--reader`` takes a PC/SC reader name or ``sim:FILE``.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from drivers.card.readers import open_reader
from drivers.scanner.serial_scanner import SerialScanner
from drivers.scanner.wedge import WedgeDetector
from terminal.app import CashierApp, Counter
from terminal.cli.runtime import till_for
from terminal.gateway_client import GatewayClient
from terminal.home import TerminalHome, add_data_dir_argument, default_data_dir
from terminal.receipts.queue import PrintQueue
from terminal.sync import Syncer


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="the cashier app (keyboard, F-keys)")
    add_data_dir_argument(run)
    run.add_argument("--reader", default=None, help="reader name or sim:FILE (default: configured)")
    run.add_argument(
        "--sync-interval", type=float, default=60.0, metavar="SECONDS", help="background sync"
    )
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    with TerminalHome.open(default_data_dir(args.data_dir)) as home, till_for(home) as till:
        reader_name = args.reader or home.config.reader_name
        counter = Counter(till, reader_name)
        with contextlib.ExitStack() as stack:
            sync, reachable = None, None
            if home.config.gateway_url:
                client = GatewayClient(home.config.gateway_url, home.config.terminal_id, home.key)
                stack.callback(client.close)
                syncer = Syncer(home.journal, client, dict(home.config.authority_keys))
                syncer.start(args.sync_interval)
                stack.callback(syncer.stop)
                sync, reachable = syncer.run_once, client.reachable
            queue = till.print_queue
            if isinstance(queue, PrintQueue):
                queue.start()
                stack.callback(queue.stop)
            watch = open_reader(reader_name)
            stack.callback(watch.close)
            scanner = SerialScanner(home.config.scanner_url) if home.config.scanner_url else None
            wedge = WedgeDetector()
            CashierApp(
                home,
                till,
                counter,
                watch,
                sync=sync,
                scanner=scanner,
                wedge=wedge,
                gateway_reachable=reachable,
            ).run()
    return 0
