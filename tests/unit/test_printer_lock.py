"""The printer lock between the terminal's processes: one sender at a time, the holder's
operations first, one print service; and a sender killed with SIGKILL leaves no stale lock."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from terminal.receipts.printlock import PrinterLock

HOLD_AND_WAIT = """
import sys, time
from pathlib import Path
from terminal.receipts.printlock import PrinterLock
with PrinterLock(Path(sys.argv[1])).hold(None) as held:
    print("held" if held else "not held", flush=True)
    time.sleep(60)
"""


def test_one_sender_at_a_time_across_processes(tmp_path: Path) -> None:
    sale, service = PrinterLock(tmp_path), PrinterLock(tmp_path)
    with sale.hold(None) as first:
        assert first
        with service.hold(None) as second:
            assert not second
        with service.hold(time.monotonic() + 0.1) as waited:
            assert not waited, "waits until the instant, then gives up"
    with service.hold(None) as after:
        assert after


def test_a_sender_killed_while_printing_leaves_the_printer_free(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_WAIT, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        with PrinterLock(tmp_path).hold(None) as held:
            assert not held
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        with PrinterLock(tmp_path).hold(time.monotonic() + 5) as held:
            assert held
    finally:
        child.kill()
        child.wait(10)


def test_the_background_sees_a_holder_being_served_anywhere(tmp_path: Path) -> None:
    cashier, service = PrinterLock(tmp_path), PrinterLock(tmp_path)
    assert not service.foreground_active()
    with cashier.foreground(), cashier.foreground():  # re-entrant: a reprint inside a sale
        assert service.foreground_active() and cashier.foreground_active()
    assert not service.foreground_active()


def test_one_print_service_per_terminal(tmp_path: Path) -> None:
    first, second, cashier = PrinterLock(tmp_path), PrinterLock(tmp_path), PrinterLock(tmp_path)
    assert not cashier.worker_running()
    with first.worker() as mine:
        assert mine and cashier.worker_running()
        with second.worker() as also:
            assert not also
    assert not cashier.worker_running()
    alone = PrinterLock()
    with alone.worker() as mine:
        assert mine and alone.worker_running()
    assert not alone.worker_running()


def test_a_service_starting_while_someone_asks_whether_one_runs_still_starts(
    tmp_path: Path,
) -> None:
    # CI caught it: "is a service running?" takes the worker lock for an instant; a service
    # starting in that instant gave up as if another one ran, and no receipt printed by itself.
    probe = os.open(tmp_path / "print-worker.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(probe, fcntl.LOCK_EX)  # the probe, caught in its instant
    threading.Timer(0.1, os.close, (probe,)).start()
    with PrinterLock(tmp_path).worker() as mine:
        assert mine, "the look ended: this is the terminal's one print service"


def test_asking_over_and_over_never_stops_a_service_from_starting(tmp_path: Path) -> None:
    stop = threading.Event()

    def ask() -> None:
        cashier = PrinterLock(tmp_path)
        while not stop.is_set():
            cashier.worker_running()

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        started = []
        for _ in range(50):
            with PrinterLock(tmp_path).worker() as mine:
                started.append(mine)
    finally:
        stop.set()
        asker.join()
    assert all(started)
