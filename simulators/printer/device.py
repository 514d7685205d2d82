"""The simulated printer itself, independent of how bytes reach it: faults, status replies,
job numbering and the files each job leaves in the output folder.

Every job is written as ``job-NNNNNN.txt`` (the words), ``.png`` (the picture) and ``.json``
(transport, whether it ended with a cut, QR payloads, unknown commands, bytes discarded by a
fault). ``simulator.log`` has one JSON line per event.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from simulators.printer.escpos import Command
from simulators.printer.job import BARCODE_NAMES, Barcode, Bitmap, Job
from simulators.printer.render import render_png, render_text

FAULT_NAMES = ("paper_end", "near_end", "cover_open", "offline", "refuse", "mute", "garble")
"""On/off faults; ``drop_after`` (bytes), ``paper_after`` (lines) and ``slow`` (seconds) take a
number; ``after_cut`` takes one of :data:`AFTER_CUT_FAULTS`."""
AFTER_CUT_DROP = "drop"
"""``after_cut drop``: the link is reset right after the next cut, before anything more of the
connection is read or answered (the status after the job is lost)."""
AFTER_CUT_FAULTS = (*(name for name in FAULT_NAMES if name != "refuse"), AFTER_CUT_DROP)


@dataclass
class Faults:
    paper_end: bool = False
    near_end: bool = False
    cover_open: bool = False
    offline: bool = False
    refuse: bool = False
    """TCP: stop listening, so connections are refused."""
    mute: bool = False
    """Never answer a status request."""
    garble: bool = False
    """Answer status requests with a malformed byte."""
    drop_after: int | None = None
    """Cut each connection after this many bytes (mid-job)."""
    paper_after: int | None = None
    """The paper runs out after this many more printed lines (mid-job); then as paper_end."""
    slow: float = 0.0
    """Seconds of delay before each status reply and per KiB of data."""
    after_cut: str | None = None
    """An on/off fault that switches on the moment the next job is cut: the paper is out whole,
    and what the sender hears next (status after the job) is that fault; or ``drop``: the
    connection is reset right after the cut, and the sender hears nothing more."""

    @property
    def can_print(self) -> bool:
        return not (self.paper_end or self.cover_open or self.offline)

    def set(self, name: str, value: str | None) -> None:
        """Set one fault from text (the control channel and the command line)."""
        known = {f.name for f in fields(self)}
        if name not in known:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
        if name in ("drop_after", "paper_after"):
            setattr(self, name, None if value in (None, "off") else _count(name, value))
            if self.paper_after == 0:  # no line left on the roll: out of paper now
                self.paper_after, self.paper_end = None, True
        elif name == "slow":
            self.slow = 0.0 if value in (None, "off") else _seconds(name, value)
        elif name == "after_cut":
            if value != "off" and value not in AFTER_CUT_FAULTS:
                choices = ", ".join(AFTER_CUT_FAULTS)
                raise ValueError(f"after_cut takes one of {choices}, got {value!r}")
            self.after_cut = None if value == "off" else value
        else:
            setattr(self, name, value not in ("off", "0", "false"))

    def clear(self) -> None:
        for item in fields(self):
            setattr(self, item.name, item.default)


def _count(name: str, text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{name} takes a whole number of 0 or more, got {text!r}")
    return int(text)


def _seconds(name: str, text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{name} takes seconds (0 or more), got {text!r}")
    return seconds


@dataclass(frozen=True)
class JobFile:
    """A job as written to the output folder."""

    number: int
    txt: Path
    png: Path | None
    meta: dict[str, Any]

    @property
    def text(self) -> str:
        return self.txt.read_text(encoding="utf-8")

    @property
    def complete(self) -> bool:
        return bool(self.meta["complete"])


@dataclass
class _Pending:
    job: Job
    transport: str
    after_cut: str | None = None


@dataclass
class PrinterDevice:
    """Faults, status and job output; the TCP and pty front ends share one device."""

    out_dir: Path
    paper_mm: int = 80
    png: bool = True
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.dots = 576 if self.paper_mm == 80 else 384
        self._lock = threading.Condition()
        self._next = 1
        self._files: list[JobFile] = []
        self._pending = 0
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="printer-writer", daemon=True)
        self._writer.start()
        self._log_lock = threading.Lock()

    # -- status --------------------------------------------------------------------------------
    def reply_for(self, command: Command) -> bytes | None:
        """The printer's answer to a status-type command, or None for no answer."""
        f = self.faults
        n = command.args[0] if command.args else 0
        if command.name == "status":
            if f.mute:
                return None
            if f.garble:
                return b"\xff"
            stop = not f.can_print
            replies = {
                1: 0x12 | (0x08 if stop else 0),
                2: 0x12
                | (0x04 if f.cover_open else 0)
                | (0x20 if f.paper_end else 0)
                | (0x40 if f.offline else 0),
                3: 0x12,
                4: 0x12 | (0x0C if f.near_end else 0) | (0x60 if f.paper_end else 0),
            }
            if n not in replies:
                self.log("unknown", detail=f"DLE EOT {n} not answered")
                return None
            return bytes([replies[n]])
        if command.name in ("transmit_status", "paper_status"):
            if command.name == "paper_status" or n in (1, 49):
                return bytes([(0x03 if f.near_end else 0) | (0x0C if f.paper_end else 0)])
            return b"\x00"
        if command.name == "drawer_status":
            return b"\x00"
        if command.name == "printer_id":
            ids = {1: b"\x20", 49: b"\x20", 2: b"\x02", 50: b"\x02", 3: b"\x41", 51: b"\x41"}
            names = {65: "1.00", 66: "SSN", 67: f"SSN-SIM-{self.paper_mm}", 68: "0001", 69: "ID"}
            if n in names:
                return b"_" + names[n].encode() + b"\x00"
            return ids.get(n)
        return None

    def line_printed(self) -> None:
        """A line went onto the paper: the roll may run out now (``paper_after``)."""
        with self._lock:
            left = self.faults.paper_after
            if left is None:
                return
            if left > 1:
                self.faults.paper_after = left - 1
                return
            self.faults.paper_after, self.faults.paper_end = None, True
        self.log("fault", detail="the paper ran out in the middle of a job")

    # -- jobs ----------------------------------------------------------------------------------
    def job_done(self, job: Job, transport: str) -> bool:
        """Queue a finished job for writing (the writer thread renders it); a cut job sets off
        the ``after_cut`` fault before anything else is answered. True: hang up now (``after_cut
        drop``), reading and answering nothing more of this connection."""
        with self._lock:
            self._pending += 1
            armed = self.faults.after_cut if job.complete else None
            if armed is not None:
                self.faults.after_cut = None
                if armed != AFTER_CUT_DROP:
                    self.faults.set(armed, "on")
        if armed is not None:
            self.log("fault", detail=f"{armed} after the cut")
        self._queue.put(_Pending(job, transport, armed))
        return armed == AFTER_CUT_DROP

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._write(item)
            except Exception as exc:  # a broken job must not stop the printer
                self.log("error", detail=f"writing a job failed: {exc!r}")
            finally:
                with self._lock:
                    self._pending -= 1
                    self._lock.notify_all()

    def _write(self, item: _Pending) -> None:
        job = item.job
        with self._lock:
            number = self._next
            self._next += 1
        stem = self.out_dir / f"job-{number:06d}"
        txt = stem.with_suffix(".txt")
        txt.write_text(render_text(job, self.dots), encoding="utf-8")
        png: Path | None = None
        if self.png:
            png = stem.with_suffix(".png")
            png.write_bytes(render_png(job, self.dots))
        meta: dict[str, Any] = {
            "job": number,
            "transport": item.transport,
            "complete": job.complete,
            "paper_mm": self.paper_mm,
            "received": job.received,
            "discarded": job.discarded,
            "qr": [p.decode("utf-8", errors="replace") for p in job.qr_payloads()],
            "barcodes": [
                {"type": BARCODE_NAMES.get(e.system, str(e.system)), "data": e.data.hex()}
                for e in job.elements
                if isinstance(e, Barcode)
            ],
            "images": [list(e.image.size) for e in job.elements if isinstance(e, Bitmap)],
            "unknown": job.unknown,
            "after_cut": item.after_cut,
        }
        stem.with_suffix(".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        for report in job.unknown:
            self.log("unknown", job=number, **report)
        self.log("job", job=number, complete=job.complete, transport=item.transport)
        with self._lock:
            self._files.append(JobFile(number, txt, png, meta))

    def jobs(self) -> list[JobFile]:
        with self._lock:
            return list(self._files)

    def wait_idle(self, timeout: float = 10.0) -> list[JobFile]:
        """Wait until every finished job is on disk; the jobs written so far."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("printer simulator did not finish writing its jobs")
                self._lock.wait(left)
            return list(self._files)

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[JobFile]:
        """Wait until at least ``count`` jobs are written."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._files) < count or self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} printed jobs, have {len(self._files)}")
                self._lock.wait(left)
            return list(self._files)

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(timeout=10)

    # -- log -----------------------------------------------------------------------------------
    def log(self, event: str, **details: Any) -> None:
        entry = {"time": round(time.time(), 3), "event": event, **details}
        with self._log_lock, (self.out_dir / "simulator.log").open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def state(self) -> dict[str, Any]:
        with self._lock:
            count = len(self._files)
        return {"faults": asdict(self.faults), "jobs": count, "paper_mm": self.paper_mm}
