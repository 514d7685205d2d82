"""``ssn-terminal run``: the cashier app at the counter (Textual, in this terminal).

Sync runs in the background every ``--sync-interval`` seconds and the print queue prints what
waits; both stop when the app quits. ``--reader`` takes a PC/SC reader name or ``sim:FILE``.

Start-up: the sign-in screen comes first, from the config and the staff file alone; the journal,
the sale engine, the gateway client and the devices are imported and opened by a worker while
the cashier types the PIN (:func:`_sale_side`). So this module imports only what sign-in needs.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from typing import TYPE_CHECKING, Any

from terminal.home import TerminalHome, add_data_dir_argument, default_data_dir

if TYPE_CHECKING:
    from terminal.app.app import SaleSide


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="the cashier app (keyboard, F-keys)")
    add_data_dir_argument(run)
    run.add_argument("--reader", default=None, help="reader name or sim:FILE (default: configured)")
    run.add_argument(
        "--sync-interval", type=float, default=60.0, metavar="SECONDS", help="background sync"
    )
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from drivers.scanner.wedge import WedgeDetector
    from terminal.app.app import CashierApp

    data_dir = default_data_dir(args.data_dir)
    with TerminalHome.open(data_dir, defer_journal=True) as home, contextlib.ExitStack() as stack:
        loading, quit_ = threading.Lock(), False

        def load() -> SaleSide:
            with loading:  # never opening onto the stack while it is being closed
                if quit_:
                    raise RuntimeError("the app quit before the till was ready")
                return _sale_side(home, args, stack)

        app = CashierApp(home, wedge=WedgeDetector(), load=load)
        app.run()
        with loading:
            quit_ = True
        if app.load_error is not None:
            raise app.load_error
    return 0


def _sale_side(
    home: TerminalHome, args: argparse.Namespace, stack: contextlib.ExitStack[bool | None]
) -> SaleSide:
    """On the app's worker: everything the sale screen needs, each closed by ``stack``."""
    from drivers.card.readers import open_reader
    from drivers.scanner.serial_scanner import SerialScanner
    from terminal.app.app import SaleSide
    from terminal.app.counter import Counter
    from terminal.cli.runtime import till_for
    from terminal.gateway_client import GatewayClient
    from terminal.receipts.queue import PrintQueue
    from terminal.sync import Syncer

    till = stack.enter_context(till_for(home))
    reader_name = args.reader or home.config.reader_name
    counter = Counter(till, reader_name)
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
    return SaleSide(till, counter, watch, sync, scanner, reachable)
