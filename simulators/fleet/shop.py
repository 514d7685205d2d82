"""One shop's business day, as its own process: ``python -m simulators.fleet.shop DAYFILE``.

It is the terminal as the cashier runs it: the terminal home and journal on disk, the sale
engine (:class:`terminal.sale.Till`) with the card in the in-process ``sim:FILE`` reader, the
host asked about each card and the outbox synced over HTTP when online. It can be killed with
SIGKILL at any instant: each visit it finishes is appended (and flushed) to the day's log, and a
restarted run first presents the card that was at the counter, which settles what the kill left
open (terminal/sale/recovery.py), then goes on with the next visit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.card.protocol import Ins, VoidRequest
from drivers.card.session import CardSession
from drivers.card.transport import CardError
from ledger.cardproofs import NONCE_SIZE
from simulators.card.card import Fault, SimulatedCard
from simulators.card.direct import DirectConnection, DirectReader
from simulators.card.lock import CardInUse
from simulators.card.store import CardStore
from simulators.fleet.clock import FileClock
from simulators.fleet.printing import CounterPrinter, PrinterFault, print_queue, print_receipts
from terminal.backoff import Backoff
from terminal.basket import ScannedItem
from terminal.cli.runtime import LOOKUP_SECONDS
from terminal.gateway_client import GatewayClient, card_lookup
from terminal.home import TerminalHome
from terminal.sale import (
    Outcome,
    Status,
    Till,
    balance_inquiry,
    close_day,
    mark_interrupted,
    sell,
    void_sale,
)
from terminal.sync import Syncer

SUPERVISOR_PIN = "2468"
CARD_WAIT_SECONDS = 120.0
BARE_READER = "BARE-RDR"
"""The terminal id a dishonest holder's own reader claims."""


@dataclass(frozen=True)
class Visit:
    card: str
    """The card's state file."""
    pin: str
    items: list[tuple[str, int]]
    cash: bool = False
    cancel: bool = False
    tear: bool = False
    bare_void: bool = False
    finder: bool = False
    """Not the holder: someone who found a card reported lost, guessing at its PIN."""
    hide: bool = False
    """A dishonest terminal: the sale's record is marked as uploaded and never sent (the first
    completed, not cancelled, sale of the day's visits so marked)."""
    returning: bool = False
    """The holder only comes back because the terminal asked for the card (an unfinished
    operation with it): the card is presented, nothing is bought."""
    away: bool = False
    """At another shop than the holder's own."""
    balance: bool = False
    """The holder only asks for the balance (a refund is waiting): its loads are applied."""


@dataclass(frozen=True)
class ShopDay:
    home: str
    day: str
    clock: str
    log: str
    online: bool
    visits: list[Visit]
    clock_offset: int = 0
    """Seconds the till's clock is wrong by (a dishonest terminal; its sync signs true time)."""
    printer_control: str | None = None
    """The control channel (``HOST:PORT``) of the shop's simulated printer."""
    printer_fault: PrinterFault | None = None

    @classmethod
    def load(cls, path: Path) -> ShopDay:
        value = json.loads(path.read_text(encoding="utf-8"))
        visits = [Visit(**{**v, "items": [tuple(i) for i in v["items"]]}) for v in value["visits"]]
        fault = value.get("printer_fault")
        fault = PrinterFault(**fault) if fault else None
        return cls(**{**value, "visits": visits, "printer_fault": fault})


class Log:
    """What happened, one JSON line per event, flushed to disk before the next card moves."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kinds = {event.get("kind") for event in self.read(path)}
        """What happened so far today, before a restart included."""
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(self, **event: Any) -> None:
        self.kinds.add(event.get("kind"))
        os.write(self._fd, (json.dumps(event, separators=(",", ":")) + "\n").encode())
        os.fsync(self._fd)

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]  # a torn last line


@contextlib.contextmanager
def in_reader(path: str, tear: bool = False) -> Iterator[DirectConnection]:
    """The holder's card in the counter's reader (what ``sim:FILE`` opens), out afterwards."""
    card = _take_card(Path(path))
    if tear:
        card.arm(Fault.DURING, Ins.DEBIT)  # the holder pulls the card while it writes
    reader = DirectReader(f"simulated card {Path(path).name}")
    reader.insert(card)
    try:
        with reader.connect() as connection:
            yield connection
    finally:
        reader.remove()
        card.release()


def _take_card(path: Path) -> SimulatedCard:
    """The card, once its holder is here: a card still at another shop's counter (another
    process holds its file) comes when that shop is done with it."""
    deadline = time.monotonic() + CARD_WAIT_SECONDS
    while True:
        try:
            return SimulatedCard.from_file(path)
        except CardInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def card_session(till: Till, path: str, tear: bool = False) -> Iterator[CardSession]:
    with in_reader(path, tear) as connection:
        yield CardSession(connection, till.config.ca_keys)


def outcome_event(kind: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "kind": kind,
        "status": str(outcome.status),
        "reason": outcome.reason,
        "card_total": outcome.card_total,
        "cash": outcome.cash,
        "refused_lines": [str(r.reason) for r in outcome.refused_lines],
        "resolutions": [r.result for r in outcome.resolutions],
    }


def serve(till: Till, visit: Visit, log: Log, index: int) -> None:
    if visit.returning:
        if _card_number(visit.card) in _unfinished_cards(till):
            recover(till, visit, log, index)
        return
    if visit.balance:
        with card_session(till, visit.card) as session:
            outcome = balance_inquiry(till, session, visit.pin)
        log.write(visit=index, **outcome_event("balance", outcome))
        return
    scans = [ScannedItem(gtin, qty) for gtin, qty in visit.items]
    with card_session(till, visit.card, visit.tear) as session:
        outcome = sell(till, session, scans, visit.pin, cashier="kasir", allow_cash=visit.cash)
        log.write(
            visit=index, **outcome_event("sale", outcome), tear=visit.tear, finder=visit.finder,
            away=visit.away,
        )  # fmt: skip
        print_receipts(till, log, "sale", index, outcome)
        if visit.cancel and outcome.status is Status.COMPLETED and outcome.record_id:
            cancelled = void_sale(
                till, session, outcome.record_id, SUPERVISOR_PIN, supervisor="spv", reason="salah"
            )
            log.write(visit=index, **outcome_event("void", cancelled))
            print_receipts(till, log, "void", index, cancelled)
    hide = visit.hide and not visit.cancel and "hidden" not in log.kinds
    if hide and outcome.status is Status.COMPLETED and outcome.record_id:
        till.journal.acknowledge([outcome.record_id], ["accepted"], time=till.clock())
        log.write(visit=index, kind="hidden", card=visit.card, card_total=outcome.card_total)
    if outcome.status is Status.UNRESOLVED:  # torn: the holder presents the card again
        recover(till, visit, log, index)
    if visit.bare_void:
        bare_reader_void(till, visit, log, index)


def _card_number(path: str) -> str | None:
    certificate = CardStore(Path(path)).load().certificate
    return certificate.card_number if certificate else None


def _unfinished_cards(till: Till) -> set[str]:
    return {intent.card_number for intent in till.journal.open_intents()}


def settle_left(till: Till, visits: list[Visit], log: Log) -> None:
    """Before the day closes, every holder of today's whose card the terminal still waits for
    (a tear, or a kill -9 while the card was being settled) presents it once more, as the
    cashier app's banner asks them to."""
    waiting = _unfinished_cards(till)
    seen: set[str] = set()
    for index, visit in enumerate(visits):
        number = _card_number(visit.card)
        if number in waiting and number not in seen:
            seen.add(number)
            recover(till, visit, log, index)


def recover(till: Till, visit: Visit, log: Log, index: int) -> None:
    with card_session(till, visit.card) as session:
        outcome = balance_inquiry(till, session, visit.pin)
    log.write(visit=index, **outcome_event("recovery", outcome))
    print_receipts(till, log, "recovery", index, outcome)


def bare_reader_void(till: Till, visit: Visit, log: Log, index: int) -> None:
    """The holder, at home with a reader, tries to cancel the purchase just made: the card must
    refuse (a void only inside the sale's own card session, M1)."""
    try:
        with in_reader(visit.card) as connection:
            info = CardSession(connection, till.config.ca_keys).select()
            request = VoidRequest(BARE_READER, os.urandom(NONCE_SIZE), till.clock(), info.counter)
            data = request.encode()
            answer = connection.transmit(bytes([0x80, Ins.VOID, 0, 0, len(data)]) + data)
            refused, sw = answer[-2:] != b"\x90\x00", answer[-2:].hex()
    except CardError as exc:
        refused, sw = True, str(exc)
    log.write(visit=index, kind="bare_void", status="refused" if refused else "ACCEPTED", sw=sw)


def run_day(plan: ShopDay) -> int:
    clock = FileClock(Path(plan.clock))
    log_path = Path(plan.log)
    before = Log.read(log_path)
    done = {e["visit"] for e in before if e.get("kind") == "sale"}
    log = Log(log_path)
    with TerminalHome.open(Path(plan.home)) as home, counter(home, clock, plan.online) as till:
        if plan.clock_offset:
            till.clock = lambda: clock() + plan.clock_offset
        printer = counter_printer(till, home, clock, plan, log, before)
        log.write(kind="started", clock_offset=plan.clock_offset)
        if plan.online:  # opening (or restarted): today's loads, hotlist, catalog
            log.write(kind="sync", **sync(home, clock))
        if any(e.get("kind") == "started" for e in before):
            log.write(kind="restart")
            pending = [i for i in range(len(plan.visits)) if i not in done]
            if pending:  # the holder who was at the counter when the terminal died
                if printer is not None:
                    printer.before_visit(pending[0])
                recover(till, plan.visits[pending[0]], log, pending[0])
        for index, visit in enumerate(plan.visits):
            if index not in done:
                if printer is not None:
                    printer.before_visit(index)
                serve(till, visit, log, index)
        settle_left(till, plan.visits, log)
        if printer is not None:
            printer.before_visit(len(plan.visits))
        closed = close_day(till, dt.date.fromisoformat(plan.day), "kasir")
        log.write(kind="day_close", status=str(closed.status), reason=closed.reason)
        print_receipts(till, log, "day_close", len(plan.visits), closed)
        if printer is not None:
            printer.day_end()
        if plan.online:
            log.write(kind="sync", **sync(home, clock))
    log.write(kind="end")
    return 0


def counter_printer(
    till: Till, home: TerminalHome, clock: FileClock, plan: ShopDay, log: Log,
    before: list[dict[str, Any]],
) -> CounterPrinter | None:  # fmt: skip
    """The shop's printer on the till, as ``till_for`` sets it up; None without a printer."""
    queue = print_queue(home, clock)
    if queue is None:
        return None
    printer = CounterPrinter(queue, log, plan.printer_control, plan.printer_fault, before)
    till.print_queue = printer
    till.receipt_config = queue.config
    return printer


@contextlib.contextmanager
def counter(home: TerminalHome, clock: FileClock, online: bool) -> Iterator[Till]:
    """The till as ``ssn-terminal`` builds it (terminal/cli/runtime.py ``till_for``), on the
    fleet's clock; the host is asked about each card when the network is up."""
    mark_interrupted(home.journal)
    till = Till(home.config, home.journal, clock=clock)
    if not online:  # the network is cut: no lookups, no sync today
        yield till
        return
    client = GatewayClient(
        home.config.gateway_url, home.config.terminal_id, home.key, timeout=LOOKUP_SECONDS,
        backoff=Backoff(attempts=1), clock=clock,
    )  # fmt: skip
    till.ask_host = card_lookup(client)
    try:
        yield till
    finally:
        client.close()


def sync(home: TerminalHome, clock: FileClock) -> dict[str, Any]:
    config = home.config
    client = GatewayClient(config.gateway_url, config.terminal_id, home.key, clock=clock)
    try:
        report = Syncer(home.journal, client, dict(config.authority_keys), clock=clock).run_once()
    finally:
        client.close()
    return {"ok": report.ok, "uploaded": report.uploaded, "error": report.error,
            "rejected": report.rejected, "outbox": report.outbox}  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(run_day(ShopDay.load(Path(sys.argv[1]))))
