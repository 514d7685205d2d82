"""The simulator's ``after_cut drop`` fault: the job prints and is cut whole, then the link is
reset before the status after it is read or answered, once; the next job prints as usual."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.printer.errors import PrinterDisconnectedError
from drivers.printer.printer import open_printer
from simulators.printer.server import PrinterSimulator, Session

JOB = b"\x1b@whole\n\x1dVB\x00"
STATUS_AFTER = b"\x10\x04\x01"  # DLE EOT 1: what the terminal asks right after the job


def test_the_link_drops_right_after_the_cut_and_the_status_is_lost(
    printer_sim: PrinterSimulator,
) -> None:
    assert printer_sim.control("fault after_cut drop")["faults"]["after_cut"] == "drop"
    sent: list[int] = []
    with pytest.raises(PrinterDisconnectedError):
        open_printer(printer_sim.tcp_url).print_job(JOB, before_send=lambda: sent.append(1))
    assert sent == [1], "the job's bytes went out"
    (paper,) = printer_sim.device.wait_idle()
    assert paper.complete and paper.text == "whole\n", "on paper whole, cut"
    assert paper.meta["after_cut"] == "drop"
    faults = printer_sim.control("state")["faults"]
    assert faults["after_cut"] is None, "once only"
    assert not any(faults[name] for name in ("mute", "offline", "cover_open", "paper_end"))

    report = open_printer(printer_sim.tcp_url).print_job(b"\x1b@next\n\x1dVB\x00")
    assert report.confirmed
    assert [j.meta["after_cut"] for j in printer_sim.device.wait_idle()] == ["drop", None]


def test_nothing_after_the_cut_is_read_or_answered(tmp_path: Path) -> None:
    simulator = PrinterSimulator(tmp_path, png=False)
    try:
        replies: list[bytes] = []
        plain = Session(simulator.device, "tcp", replies.append)
        plain.feed(JOB + STATUS_AFTER)
        assert replies == [b"\x12"] and not plain.hung_up, "without the fault: answered"

        simulator.control("fault after_cut drop")
        dropped = Session(simulator.device, "tcp", replies.append)
        dropped.feed(JOB + STATUS_AFTER + b"\x1b@more\n")
        dropped.feed(STATUS_AFTER)
        dropped.end()
        assert dropped.hung_up and replies == [b"\x12"], "the status after the cut is lost"
        jobs = simulator.device.wait_idle()
        assert [(j.text, j.complete) for j in jobs] == [("whole\n", True)] * 2
    finally:
        simulator.stop()


def test_after_cut_drop_is_refused_for_other_values(tmp_path: Path) -> None:
    simulator = PrinterSimulator(tmp_path, png=False)
    try:
        refused = simulator.control("fault after_cut dropped")
        assert refused["ok"] is False and "drop" in refused["error"]
        assert simulator.control("fault after_cut drop")["ok"]
        assert simulator.control("clear")["faults"]["after_cut"] is None
    finally:
        simulator.stop()
