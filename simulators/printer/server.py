"""The simulator's front ends: ESC/POS over TCP (one job stream per connection, one connection
printing at a time, like a real 9100 port) and over a pty (the serial path), plus the control
channel tests and people use to inject faults.

Control channel: a TCP port taking one text command per line and answering one JSON line:
``fault NAME [on|off|VALUE]``, ``clear``, ``state``, ``jobs``. See docs/printing.md.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import socket
import struct
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulators.printer.device import Faults, JobFile, PrinterDevice
from simulators.printer.escpos import Command, EscPosParser
from simulators.printer.job import Job
from simulators.printer.paper import Interpreter

CHUNK = 1024
IDLE_LIMIT = 60.0
"""A connection that sends nothing for this long is closed (so it cannot hold the printer)."""


class Session:
    """One byte stream (a TCP connection or the pty) feeding the interpreter."""

    def __init__(self, device: PrinterDevice, transport: str, send: Callable[[bytes], None]):
        self.device = device
        self.transport = transport
        self._send = send
        self.hung_up = False
        """The printer hung up right after a cut (``after_cut drop``): nothing after the cut was
        read or answered; the front end drops the link."""
        self.parser = EscPosParser()
        self.interpreter = Interpreter(
            device.dots,
            can_print=lambda: device.faults.can_print,
            reply=self._reply,
            job_done=self._job_done,
            line_printed=device.line_printed,
        )

    def _job_done(self, job: Job) -> None:
        if self.device.job_done(job, self.transport):
            self.hung_up = True

    def _reply(self, command: Command) -> None:
        answer = self.device.reply_for(command)
        if answer is None:
            return
        if self.device.faults.slow:
            time.sleep(self.device.faults.slow)
        with contextlib.suppress(OSError):
            self._send(answer)

    def feed(self, data: bytes) -> None:
        if self.device.faults.slow:
            time.sleep(self.device.faults.slow * len(data) / 1024)
        offset = self.parser.offset
        for command in self.parser.feed(data):
            if self.hung_up:
                break  # what came after the cut is lost with the link
            self.interpreter.apply(command, offset)
            offset += command.raw_size

    def end(self) -> None:
        if self.hung_up:
            return  # hung up right after a cut: no job was left open
        for command in self.parser.close():
            self.interpreter.apply(command, self.parser.offset)
        self.interpreter.finish(complete=False)


class PrinterSimulator:
    """The whole simulated printer: device plus whichever front ends are started."""

    def __init__(
        self,
        out_dir: Path,
        *,
        paper_mm: int = 80,
        png: bool = True,
        faults: Faults | None = None,
    ) -> None:
        self.device = PrinterDevice(Path(out_dir), paper_mm, png, faults or Faults())
        self._stop = threading.Event()
        self._print_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._tcp_address: tuple[str, int] | None = None
        self._control: socket.socket | None = None
        self._pty_fds: tuple[int, int] | None = None
        self.pty_path: str | None = None
        self._connections = 0
        self._connections_changed = threading.Condition()
        self._listener_lock = threading.Lock()

    @property
    def faults(self) -> Faults:
        return self.device.faults

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- TCP ------------------------------------------------------------------------------------
    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen for print connections; port 0 picks a free one. Returns (host, port)."""
        self._listener = self._listen(host, port)
        self._tcp_address = self._listener.getsockname()[:2]
        self._spawn(self._accept_loop, name="printer-tcp")
        assert self._tcp_address is not None
        return self._tcp_address

    @property
    def tcp_url(self) -> str:
        assert self._tcp_address is not None, "start_tcp first"
        return f"tcp://{self._tcp_address[0]}:{self._tcp_address[1]}"

    @staticmethod
    def _listen(host: str, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(8)
        return listener

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._listener_lock:
                listener = self._listener
            if listener is None:  # refusing connections
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                conn, peer = listener.accept()
            except (OSError, ValueError):  # closed under us by the refuse fault
                continue
            self._spawn(self._serve_tcp, conn, peer, name="printer-conn")
        with self._listener_lock:
            if self._listener is not None:
                self._listener.close()

    def _apply_refuse(self) -> None:
        """Close or reopen the listening socket right away, so the fault is in force when the
        control command returns."""
        if self._tcp_address is None:
            return
        with self._listener_lock:
            if self.faults.refuse and self._listener is not None:
                with contextlib.suppress(OSError):  # stop listening now, even mid-select
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
                self.device.log("fault", detail="listener closed: connections refused")
            elif not self.faults.refuse and self._listener is None:
                self._listener = self._listen(*self._tcp_address)

    def _serve_tcp(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        with self._connections_changed:
            self._connections += 1
        try:
            self._print_connection(conn, peer)
        finally:
            with self._connections_changed:
                self._connections -= 1
                self._connections_changed.notify_all()

    def wait_no_connections(self, timeout: float = 10.0) -> None:
        """Wait until every TCP connection has ended (a slow job finished, a client left)."""
        deadline = time.monotonic() + timeout
        with self._connections_changed:
            while self._connections:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("printer simulator connections did not end")
                self._connections_changed.wait(left)

    def _print_connection(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._print_lock, conn:
            self.device.log("connect", transport="tcp", peer=f"{peer[0]}:{peer[1]}")
            session = Session(self.device, "tcp", conn.sendall)
            received = 0
            idle_since = time.monotonic()
            while not self._stop.is_set():
                ready, _, _ = select.select([conn], [], [], 0.05)
                if not ready:
                    if time.monotonic() - idle_since > IDLE_LIMIT:
                        break
                    continue
                try:
                    data = conn.recv(CHUNK)
                except OSError:
                    break
                if not data:
                    break
                idle_since = time.monotonic()
                limit = self.faults.drop_after
                if limit is not None and received + len(data) > limit:
                    session.feed(data[: max(limit - received, 0)])
                    _reset(conn)
                    self.device.log("drop", transport="tcp", after=limit)
                    break
                received += len(data)
                session.feed(data)
                if session.hung_up:
                    _reset(conn)
                    self.device.log("drop", transport="tcp", after="the cut")
                    break
            session.end()
            self.device.log("disconnect", transport="tcp", received=received)

    # -- pty ------------------------------------------------------------------------------------
    def start_pty(self) -> str:
        """Open a pty whose slave end is the "serial port" to print to. Returns its path."""
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        self._pty_fds = (master, slave)  # keep the slave open: the port outlives each job
        self.pty_path = os.ttyname(slave)
        self._spawn(self._serve_pty, master, name="printer-pty")
        return self.pty_path

    def _serve_pty(self, master: int) -> None:
        send = functools.partial(_write_all, master)
        session = Session(self.device, "pty", send)
        self.device.log("connect", transport="pty", path=self.pty_path)
        while not self._stop.is_set():
            if session.hung_up:  # a serial line cannot drop: only the rest of that read is lost
                session = Session(self.device, "pty", send)
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(master, CHUNK)
            except OSError:
                time.sleep(0.05)
                continue
            if data:
                with self._print_lock:
                    session.feed(data)
        session.end()

    # -- control ----------------------------------------------------------------------------------
    def start_control(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._control = self._listen(host, port)
        self._spawn(self._control_loop, name="printer-control")
        address: tuple[str, int] = self._control.getsockname()[:2]
        return address

    def _control_loop(self) -> None:
        assert self._control is not None
        while not self._stop.is_set():
            ready, _, _ = select.select([self._control], [], [], 0.05)
            if not ready:
                continue
            conn, _ = self._control.accept()
            self._spawn(self._serve_control, conn, name="printer-control-conn")
        self._control.close()

    def _serve_control(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as stream:
            for line in stream:
                if not line.strip():
                    continue
                stream.write(json.dumps(self.control(line)) + "\n")
                stream.flush()

    def control(self, line: str) -> dict[str, Any]:
        """Run one control command (also callable in-process)."""
        words = line.split()
        try:
            match words:
                case ["fault", name]:
                    self.faults.set(name, None)
                case ["fault", name, value]:
                    self.faults.set(name, value)
                case ["clear"]:
                    self.faults.clear()
                case ["state"]:
                    pass
                case ["jobs"]:
                    return {"ok": True, "jobs": [j.meta for j in self.device.wait_idle()]}
                case _:
                    raise ValueError(f"unknown command {line.strip()!r}")
            self._apply_refuse()
        except (ValueError, TimeoutError, OSError) as exc:
            return {"ok": False, "error": str(exc)}
        if words[0] != "state":
            self.device.log("control", command=line.strip())
        return {"ok": True, **self.device.state()}

    # -- lifetime -----------------------------------------------------------------------------
    def jobs(self) -> list[JobFile]:
        return self.device.jobs()

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[JobFile]:
        return self.device.wait_for_jobs(count, timeout)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._pty_fds is not None:
            for fd in self._pty_fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.device.wait_idle()
        self.device.close()

    def __enter__(self) -> PrinterSimulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _reset(conn: socket.socket) -> None:
    """Drop the connection hard (RST), as a printer losing power or its cable does."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]
