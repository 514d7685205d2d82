"""A printer fault during a sale: the sale is complete, the receipt pending, the cashier told,
and a reprint prints it once (printer simulator over real TCP)."""

from __future__ import annotations

import pytest

from drivers.card.protocol import Ins
from drivers.printer.printer import open_printer
from simulators.card.card import Fault
from simulators.printer.server import PrinterSimulator
from terminal.backoff import Backoff
from terminal.basket import ScannedItem
from terminal.receipts.queue import PrintQueue
from terminal.sale import Status, balance_inquiry, sell
from tests.fixtures.card import PIN
from tests.fixtures.sale import OIL, RICE_5KG, Counter

FAULTS = ["paper_end", "paper_after 6", "cover_open", "offline", "refuse", "mute", "drop_after 200"]


def with_printer(counter: Counter, sim: PrinterSimulator) -> PrintQueue:
    printer = open_printer(sim.tcp_url)
    queue = PrintQueue(counter.home.journal, printer, backoff=Backoff(base=0, cap=0, jitter=False))
    counter.till.print_queue = queue
    return queue


def complete_receipts_of(sim: PrinterSimulator, short_ref: str) -> int:
    sim.control("jobs")  # waits until the simulator has written every job it received
    return sum(1 for job in sim.jobs() if job.complete and short_ref in job.text)


@pytest.mark.parametrize("fault", FAULTS)
def test_printer_fault_never_touches_the_sale(
    counter: Counter, printer_sim: PrinterSimulator, fault: str
) -> None:
    queue = with_printer(counter, printer_sim)
    assert printer_sim.control(f"fault {fault}")["ok"]
    number = counter.issue()
    counter.present(number)
    sold = sell(
        counter.till,
        counter.session(),
        [ScannedItem(RICE_5KG), ScannedItem(OIL)],
        PIN,
        cashier="kasir-1",
    )
    assert sold.status is Status.COMPLETED and sold.printed is None, "shown before printing"
    outcome = counter.till.print_receipts(sold)
    assert outcome.printed is False
    assert outcome.print_message  # the cashier is told
    assert outcome.record_id is not None
    record = counter.home.journal.record(outcome.record_id)
    assert record is not None
    assert len(counter.home.journal.pending_jobs()) == 2  # customer and shop copy wait
    short = f"{record.terminal_id}/{record.seq:06d}"
    assert printer_sim.control("clear")["ok"]
    printer_sim.wait_no_connections()
    report = queue.reprint(record.id)
    assert report.ok, report.message
    assert counter.home.journal.pending_jobs() == []
    assert complete_receipts_of(printer_sim, short) == 2
    again = queue.print_now()  # nothing left: a retry never prints twice
    assert again.printed == []
    assert complete_receipts_of(printer_sim, short) == 2
    reprint = queue.reprint(record.id)
    assert reprint.ok
    assert complete_receipts_of(printer_sim, short) == 3
    copies = [j for j in printer_sim.jobs() if j.complete and short in j.text]
    assert "SALINAN" in copies[-1].text and "LEMBAR PEMBELI" in copies[-1].text
    unmarked = [c for c in copies if "SALINAN" not in c.text]
    assert len(unmarked) <= 2, "at most one unmarked original per copy"


def test_a_torn_sale_finished_when_its_card_comes_back_prints_in_front_of_that_holder(
    counter: Counter, printer_sim: PrinterSimulator
) -> None:
    with_printer(counter, printer_sim)
    number = counter.issue()
    counter.present(number).arm(Fault.DURING, Ins.DEBIT)  # applied, then the card is pulled
    torn = sell(counter.till, counter.session(), [ScannedItem(OIL)], PIN, cashier="k")
    assert torn.status is Status.UNRESOLVED and torn.receipt_jobs == ()

    counter.present(number)
    back = balance_inquiry(counter.till, counter.session(), PIN)
    (settled,) = back.resolutions
    assert settled.result == "completed" and settled.record_id is not None
    shown = counter.till.print_receipts(back)

    assert shown.printed is True and shown.print_message is None
    record = counter.home.journal.record(settled.record_id)
    assert record is not None
    short = f"{record.terminal_id}/{record.seq:06d}"
    assert complete_receipts_of(printer_sim, short) == 2, "the holder's copy and the shop's"
    assert counter.home.journal.pending_jobs() == []
