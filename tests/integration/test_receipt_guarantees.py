"""Issue 22, as a shop meets it: the sale command against the printer simulator over real TCP,
with faults at the exact byte (after the cut, before the status reply, mid-job), kill -9 at
random instants, Ctrl-C, a slow printer with a queue, another holder's receipt, and the
printer's conditions. What counts is read off the simulator's paper: never more than one whole
unmarked copy per record and copy, and at least one copy in the end."""

from __future__ import annotations

import json
import random
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import astuple

import pytest

from simulators.printer.server import PrinterSimulator
from terminal.receipts.jobs import JobKind
from terminal.receipts.printlock import PrinterLock
from tests.fixtures.shop import Shop, papers_of, unmarked

MAYBE = "Struk mungkin sudah (sebagian) tercetak; cetakan berikutnya bertanda SALINAN."
NOTHING = "Struk belum tercetak."
HELD = "Struk pembeli ditahan: cetak ulang untuk pembeli ini saat printer siap."


def record_of(output: str) -> tuple[uuid.UUID, int]:
    """The record id and sequence number the sale command showed."""
    line = next(line for line in output.splitlines() if line.startswith("record "))
    _, record_id, _, seq = line.replace(")", "").split()
    return uuid.UUID(record_id), int(seq)


def settle(shop: Shop, sim: PrinterSimulator) -> None:
    """What the shop does once the printer works again: reprint each record whose receipts
    did not print (in front of its holder), and print what waits for the background."""
    sim.control("clear")
    sim.wait_no_connections()
    with shop.journal() as journal:
        waiting = {job.record_id for job in journal.pending_jobs() if job.record_id}
    for record_id in sorted(waiting):
        done = shop.run("reprint", str(record_id))
        assert done.code == 0, done.out + done.err
    done = shop.run("print")
    assert done.code == 0, done.out
    with shop.journal() as journal:
        assert journal.pending_jobs() == []


def assert_one_original_each(sim: PrinterSimulator, seqs: range) -> None:
    for seq in seqs:
        for copy, papers in papers_of(sim, seq).items():
            assert len(unmarked(papers)) <= 1, f"record {seq}: two unmarked {copy} copies"
            assert papers, f"record {seq}: no {copy} copy at all"


# -- 1. an unknown fate is never followed by a second unmarked copy ----------------------------


def customer_job_size(shop: Shop, seq: int) -> int:
    with shop.journal() as journal:
        record = journal.record_at(seq)
        assert record is not None
        (customer,) = [
            j for j in journal.jobs_for_record(record.id) if j.kind is JobKind.SALE_CUSTOMER
        ]
        return len(customer.data)


@pytest.mark.parametrize(
    "fault",
    ["link dropped after the cut", "no status reply after the cut", "cover opened after the cut"],
)
def test_a_copy_out_whole_but_unconfirmed_is_never_printed_unmarked_again(
    shop: Shop, printer_sim: PrinterSimulator, fault: str
) -> None:
    first = shop.run(*shop.sale_args(card=1))  # the same sale shape, printed fine: its size
    assert first.code == 0 and "printer: Struk tercetak." in first.out
    status_queries = 3 * 3  # DLE EOT 1, 2, 4 before the job
    after_the_cut = status_queries + customer_job_size(shop, 1)
    command = {
        "link dropped after the cut": f"fault drop_after {after_the_cut}",
        "no status reply after the cut": "fault after_cut mute",
        "cover opened after the cut": "fault after_cut cover_open",
    }[fault]
    assert printer_sim.control(command)["ok"]

    sale = shop.run(*shop.sale_args())

    assert sale.code == 0 and sale.out.startswith("COMPLETED\n")
    assert "printer: " in sale.out and MAYBE in sale.out and HELD in sale.out
    record_id, seq = record_of(sale.out)
    assert len(unmarked(papers_of(printer_sim, seq)["customer"])) == 1, "the paper came out whole"
    for _ in range(3):  # the fault persists; the cashier keeps asking
        shop.run("reprint", str(record_id))
        shop.run("print")
    settle(shop, printer_sim)
    assert_one_original_each(printer_sim, range(1, seq + 1))
    assert len(unmarked(papers_of(printer_sim, seq)["customer"])) == 1


def test_a_copy_torn_mid_job_is_followed_by_a_marked_whole_copy(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    printer_sim.control("fault drop_after 400")
    sale = shop.run(*shop.sale_args())
    assert sale.code == 0 and MAYBE in sale.out
    _, seq = record_of(sale.out)
    assert papers_of(printer_sim, seq)["customer"] == [], "torn: no whole copy yet"
    settle(shop, printer_sim)
    customer = papers_of(printer_sim, seq)["customer"]
    assert len(customer) == 1 and "SALINAN" in customer[0].text
    assert "Dicetak ulang" in customer[0].text


# -- 2. kill -9 and Ctrl-C while printing --------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "it never happened"
        time.sleep(0.02)


OUTCOME_SHOWN = "  balance BZNS: "
"""The last line of the sale's outcome block (both purses of the card are listed)."""


def test_kill_9_at_random_instants_while_printing(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    rng = random.Random(20261205)
    printer_sim.control("fault slow 0.03")  # stretch each job over a few hundred milliseconds
    rounds, killed = 14, 0
    for round_no in range(rounds):
        sale = shop.spawn(*shop.sale_args(card=round_no % 2))
        shown = sale.out.wait_for(OUTCOME_SHOWN)
        assert shown.startswith("COMPLETED\n"), "the outcome is on screen before printing"
        time.sleep(rng.uniform(0.0, 0.6))
        if sale.process.poll() is None:
            sale.process.send_signal(signal.SIGKILL)
            killed += 1
        sale.finish()
    with shop.journal() as journal:
        sales = journal.records()
        unknown = sum(1 for j in journal.pending_jobs() if j.sent)
    assert [r.seq for r in sales] == list(range(1, rounds + 1)), "every sale is in the journal"
    out_whole = sum(1 for seq in range(1, rounds + 1) if papers_of(printer_sim, seq)["customer"])
    settle(shop, printer_sim)
    assert_one_original_each(printer_sim, range(1, rounds + 1))
    print(
        f"\nkill -9 while printing: {killed} of {rounds} sale commands killed; "
        f"{out_whole} customer copies were out whole, {unknown} jobs of unknown fate"
    )
    assert killed > 0


def test_kill_9_of_the_print_service_at_random_instants(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    rng = random.Random(20261206)
    printer_sim.control("fault refuse")
    sales = 8
    for n in range(sales):  # their receipts wait for the background
        assert shop.run(*shop.sale_args(card=n % 2)).code == 0
    printer_sim.control("clear")
    printer_sim.control("fault slow 0.1")  # a job takes about 0.7 s
    rounds, killed, unknown = 10, 0, set()
    for _ in range(rounds):
        service = shop.spawn("print", "--watch", "--interval", "0.05")
        time.sleep(rng.uniform(0.6, 1.6))  # starting takes about half a second
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGKILL)
            killed += 1
        service.finish()
        printer_sim.wait_no_connections()
        with shop.journal() as journal:
            unknown |= {j.job_id for j in journal.pending_jobs() if j.sent}
    settle(shop, printer_sim)
    assert_one_original_each(printer_sim, range(1, sales + 1))
    left = len(unknown)
    print(f"\nkill -9 of the print service: {killed} of {rounds} killed, {left} of unknown fate")
    assert killed == rounds


@pytest.mark.parametrize(
    ("mode", "when"),
    [("text", "before the paper"), ("json", "before the paper"), ("text", "after the cut")],
)
def test_ctrl_c_while_printing_leaves_the_sale_on_screen(
    shop: Shop, printer_sim: PrinterSimulator, mode: str, when: str
) -> None:
    if when == "before the paper":
        printer_sim.control("fault slow 0.3")
    else:  # the copy comes out whole, then the printer never answers: the cashier gives up
        shop.configure("--printer", printer_sim.tcp_url + "?timeout=5")
        printer_sim.control("fault after_cut mute")
    args = [*shop.sale_args(), "--json"] if mode == "json" else shop.sale_args()
    sale = shop.spawn(*args)
    shown = (sale.err if mode == "json" else sale.out).wait_for(OUTCOME_SHOWN)
    if when == "before the paper":
        time.sleep(0.5)
    else:
        wait_until(lambda: bool(papers_of(printer_sim, 1)["customer"]))
    sale.process.send_signal(signal.SIGINT)
    code, out, err = astuple(sale.finish())

    assert code == 0, "the sale went through: its exit code stands"
    assert "Traceback" not in err
    said = err if mode == "json" else out
    assert shown.startswith("COMPLETED\n") and "paid from APBD: Rp15.700" in shown
    assert "printer: Pencetakan dihentikan (Ctrl-C)." in said
    assert "Transaksi tetap tersimpan." in said
    assert (MAYBE if when == "after the cut" else NOTHING) in said
    if mode == "json":
        value = json.loads(out)
        assert value["status"] == "completed" and value["printed"] is False
        assert value["print_message"].startswith("Pencetakan dihentikan (Ctrl-C).")
    record_id, seq = record_of(shown)
    with shop.journal() as journal:
        assert journal.record(record_id) is not None
    settle(shop, printer_sim)
    assert_one_original_each(printer_sim, range(1, seq + 1))


# -- 3. a sale prints only its own receipt, within the bound -------------------------------------


def test_a_sale_is_not_held_hostage_by_a_queue_and_a_slow_printer(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    shop.configure("--print-wait", "1.5")
    with shop.journal() as journal:
        old = [
            journal.add_job(None, JobKind.DAY_CLOSE, f"\x1b@lama {n}\n\x1dVB\x00".encode())
            for n in range(6)
        ]
    printer_sim.control("fault slow 0.4")

    sale = shop.run(*shop.sale_args())

    assert sale.code == 0 and sale.out.startswith("COMPLETED\n")
    assert "Printer terlalu lambat; batas waktu cetak habis." in sale.out
    with shop.journal() as journal:
        waiting = {j.job_id: j for j in journal.pending_jobs()}
        assert all(waiting[n].attempts == 0 and not waiting[n].sent for n in old)
    printer_sim.wait_no_connections()
    settle(shop, printer_sim)
    _, seq = record_of(sale.out)
    assert_one_original_each(printer_sim, range(seq, seq + 1))
    olds = [j for j in printer_sim.jobs() if j.complete and j.text.startswith("lama ")]
    assert sorted(j.text for j in olds) == [f"lama {n}\n" for n in range(6)]


# -- 4. what the cashier is promised is what happens --------------------------------------------


def test_the_print_service_prints_what_waits_by_itself(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    service = shop.spawn("print", "--watch", "--interval", "0.2")
    try:
        deadline = time.monotonic() + 15
        while not PrinterLock(shop.data_dir).worker_running():
            assert time.monotonic() < deadline and service.process.poll() is None
            time.sleep(0.05)
        printer_sim.control("fault paper_end")
        sale = shop.run(*shop.sale_args())
        assert "Kertas printer habis" in sale.out and HELD in sale.out
        assert "dicetak otomatis oleh layanan cetak" in sale.out
        _, seq = record_of(sale.out)
        service.out.wait_for("Kertas printer habis. Pasang gulungan kertas baru.")
        printer_sim.control("clear")
        service.out.wait_for("printed 1 receipt(s)")
    finally:
        service.process.send_signal(signal.SIGTERM)
        done = service.finish()
    assert done.code == 0, done.err
    assert "1 struk pembeli ditahan" in done.out
    assert len(papers_of(printer_sim, seq)["shop"]) == 1
    assert papers_of(printer_sim, seq)["customer"] == [], "the holder's copy waits for a reprint"


# -- 5. another holder's receipt --------------------------------------------------------------


def test_an_earlier_holders_receipt_never_comes_out_in_the_next_sale(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    printer_sim.control("fault paper_end")
    earlier = shop.run(*shop.sale_args(card=0))
    assert HELD in earlier.out and NOTHING in earlier.out
    earlier_id, earlier_seq = record_of(earlier.out)
    printer_sim.control("clear")

    now = shop.run(*shop.sale_args(card=1))
    background = shop.run("print")

    _, seq = record_of(now.out)
    assert "printer: Struk tercetak." in now.out
    assert [len(p) for p in papers_of(printer_sim, seq).values()] == [1, 1]
    assert papers_of(printer_sim, earlier_seq)["customer"] == [], "not in front of the next holder"
    assert len(papers_of(printer_sim, earlier_seq)["shop"]) == 1, "the shop's copy prints"
    assert "1 struk pembeli ditahan sampai dicetak ulang." in background.out
    assert f"reprint {earlier_id}" in background.out
    reprint = shop.run("reprint", str(earlier_id))
    assert reprint.code == 0
    (copy,) = papers_of(printer_sim, earlier_seq)["customer"]
    assert "SALINAN" not in copy.text, "nothing of it had reached the paper: the original"


def test_the_cashier_may_ask_for_the_held_receipts_under_their_header(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    printer_sim.control("fault paper_end")
    _, earlier_seq = record_of(shop.run(*shop.sale_args(card=0)).out)
    printer_sim.control("clear")
    asked = shop.run("print", "--held")
    assert asked.code == 0 and "ditahan" not in asked.out
    (copy,) = papers_of(printer_sim, earlier_seq)["customer"]
    assert "*** STRUK TERTUNDA ***" in copy.text and "SALINAN" not in copy.text
    assert len(papers_of(printer_sim, earlier_seq)["shop"]) == 1


def test_a_shop_may_print_held_receipts_under_a_header_naming_their_transaction(
    shop: Shop, printer_sim: PrinterSimulator
) -> None:
    shop.configure("--held-receipts", "header")
    printer_sim.control("fault paper_end")
    earlier = shop.run(*shop.sale_args(card=0))
    assert HELD not in earlier.out
    _, earlier_seq = record_of(earlier.out)
    printer_sim.control("clear")
    printed = shop.run("print")
    assert printed.code == 0 and "ditahan" not in printed.out
    (copy,) = papers_of(printer_sim, earlier_seq)["customer"]
    lines = copy.text.splitlines()
    assert "*** STRUK TERTUNDA ***" in lines[0]
    assert f"Milik transaksi No. {earlier_seq:06d}" in lines[1]


# -- 6. the printer's conditions in the cashier's words ----------------------------------------


@pytest.mark.parametrize("mode", ["text", "json"])
def test_paper_near_end_reaches_the_cashier_in_every_mode(
    shop: Shop, printer_sim: PrinterSimulator, mode: str
) -> None:
    printer_sim.control("fault near_end")
    sale = shop.run(*shop.sale_args(), *(["--json"] if mode == "json" else []))
    human = sale.err if mode == "json" else sale.out
    assert "printer: Struk tercetak." in human
    assert "printer: Kertas printer hampir habis." in human
    if mode == "json":
        assert json.loads(sale.out)["print_warnings"] == ["Kertas printer hampir habis."]


def test_a_busy_printer_is_busy_not_silent(shop: Shop, printer_sim: PrinterSimulator) -> None:
    shop.configure("--print-wait", "0.5")
    with PrinterLock(shop.data_dir).hold(None) as held:  # the print service is mid-job
        assert held
        sale = shop.run(*shop.sale_args())
    assert f"printer: Printer sedang mencetak struk lain. {NOTHING}" in sale.out
    assert "tidak merespons" not in sale.out


def test_a_web_server_at_the_printer_address_printed_nothing(shop: Shop, web_server: str) -> None:
    shop.configure("--printer", web_server)
    sale = shop.run(*shop.sale_args())
    assert sale.code == 0
    assert "Yang menjawab di alamat printer bukan printer struk." in sale.out
    assert NOTHING in sale.out and "terputus" not in sale.out


def test_a_refused_printing_setting_changes_nothing(shop: Shop) -> None:
    before = (shop.data_dir / "terminal.json").read_bytes()
    for seconds in ("0", "-1", "1000"):
        refused = shop.run("configure", "--print-wait", seconds)
        assert refused.code == 2 and "--print-wait must be" in refused.err
    with pytest.raises(SystemExit):  # argparse: not one of hold, header
        shop.run("configure", "--held-receipts", "later")
    assert (shop.data_dir / "terminal.json").read_bytes() == before
