"""Byte pipes to a printer, chosen by URL, over python-escpos's printer classes (which open the
socket, serial port, USB device or file); reads and error mapping are ours.

``tcp://host:9100``, ``serial:///dev/ttyUSB0?baud=19200``, ``usb://04b8:0202``,
``file:///dev/usb/lp0``. Common query options: ``timeout`` (seconds for connect, each write and
each status reply). Nothing is opened until :meth:`Transport.open`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import serial

from drivers.printer import escpos_classes
from drivers.printer.errors import (
    PrinterConfigError,
    PrinterDisconnectedError,
    PrinterTimeoutError,
    PrinterUnreachableError,
)

DEFAULT_TIMEOUT = 5.0


class Transport(Protocol):
    """One connection's worth of bytes to and from a printer."""

    description: str
    can_read: bool
    """False when the printer cannot answer (a file): status stays unknown."""

    def limit(self, seconds: float) -> None:
        """The next connect or write must be done within ``seconds`` (a job's time left)."""
        ...

    def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def read(self, count: int, timeout: float) -> bytes:
        """Up to ``count`` bytes; fewer (maybe none) if ``timeout`` passes first."""
        ...

    def drain(self) -> None:
        """Throw away bytes that arrived unasked (a late reply to an earlier job)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PrinterAddress:
    """A parsed printer URL."""

    scheme: str
    target: str
    options: dict[str, str]
    timeout: float

    def option(self, name: str, default: str) -> str:
        return self.options.get(name, default)


def parse_printer_url(url: str) -> PrinterAddress:
    """Check and split a printer URL; :class:`PrinterConfigError` says what is wrong."""
    parts = urlsplit(url)
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise PrinterConfigError(f"timeout must be a number of seconds in {url!r}") from None
    if not timeout > 0:
        raise PrinterConfigError(f"timeout must be positive in {url!r}")
    scheme = parts.scheme.lower()
    if scheme == "tcp":
        if not parts.hostname:
            raise PrinterConfigError(f"tcp printer URL needs a host: {url!r}")
        try:
            port = parts.port or 9100
        except ValueError:
            raise PrinterConfigError(f"bad port in {url!r}") from None
        return PrinterAddress(scheme, f"{parts.hostname}:{port}", options, timeout)
    if scheme in ("serial", "file"):
        if not parts.path or parts.netloc:
            raise PrinterConfigError(f"{scheme} URL needs an absolute path: {scheme}:///dev/...")
        return PrinterAddress(scheme, parts.path, options, timeout)
    if scheme == "usb":
        vid, _, pid = parts.netloc.partition(":")
        try:
            int(vid, 16), int(pid, 16)
        except ValueError:
            raise PrinterConfigError(f"usb URL is usb://VID:PID in hex, got {url!r}") from None
        return PrinterAddress(scheme, f"{vid}:{pid}", options, timeout)
    raise PrinterConfigError(
        f"printer URL must start tcp://, serial://, usb:// or file://: {url!r}"
    )


def transport_for(address: PrinterAddress) -> Transport:
    if address.scheme == "tcp":
        host, _, port = address.target.rpartition(":")
        return TcpTransport(host, int(port), address.timeout)
    if address.scheme == "serial":
        return SerialTransport(address)
    if address.scheme == "usb":
        return UsbTransport(address)
    return FileTransport(address.target)


def _cause(exc: BaseException) -> BaseException:
    """python-escpos wraps the OS error in DeviceNotFoundError: find the real one."""
    return exc.__cause__ or exc.__context__ or exc


class TcpTransport:
    """A raw TCP printer port (9100), one connection per job."""

    can_read = True

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.description = f"tcp://{host}:{port}"
        self._printer: Any = None
        self._sock: socket.socket | None = None

    def limit(self, seconds: float) -> None:
        self.timeout = seconds

    def open(self) -> None:
        printer = escpos_classes.network()(self.host, self.port, timeout=self.timeout)
        try:
            printer.open()
        except Exception as exc:
            cause = _cause(exc)
            if isinstance(cause, TimeoutError):
                raise PrinterTimeoutError(f"{self.description}: connect timed out") from exc
            raise PrinterUnreachableError(f"{self.description}: {cause}") from exc
        self._printer = printer
        self._sock = printer.device
        assert self._sock is not None
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc

    def write(self, data: bytes) -> None:
        assert self._sock is not None
        try:
            self._sock.settimeout(self.timeout)
            self._printer._raw(data)
        except TimeoutError as exc:
            raise PrinterTimeoutError(f"{self.description}: write timed out") from exc
        except OSError as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc

    def read(self, count: int, timeout: float) -> bytes:
        assert self._sock is not None
        try:
            self._sock.settimeout(timeout)
            data = self._sock.recv(count)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc
        if not data:
            raise PrinterDisconnectedError(f"{self.description}: the printer closed the connection")
        return data

    def drain(self) -> None:
        assert self._sock is not None
        self._sock.setblocking(False)
        try:
            while True:
                if not self._sock.recv(256):
                    raise PrinterDisconnectedError(
                        f"{self.description}: the printer closed the connection"
                    )
        except (BlockingIOError, InterruptedError):
            pass  # nothing (more) waiting: the usual case
        except OSError as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc
        finally:
            self._sock.setblocking(True)

    def close(self) -> None:
        if self._printer is not None:
            with contextlib.suppress(OSError):
                self._printer.close()
        self._printer = self._sock = None


class SerialTransport:
    """A serial (RS-232 / USB-serial / pty) printer; hardware flow control off by default."""

    can_read = True

    def __init__(self, address: PrinterAddress) -> None:
        self.path = address.target
        self.timeout = address.timeout
        try:
            self.baud = int(address.option("baud", "9600"))
            self.rtscts = address.option("rtscts", "0") == "1"
            self.xonxoff = address.option("xonxoff", "0") == "1"
        except ValueError:
            raise PrinterConfigError(f"baud must be a number: serial://{self.path}") from None
        self.description = f"serial://{self.path}?baud={self.baud}"
        self._printer: Any = None

    def limit(self, seconds: float) -> None:
        self.timeout = seconds
        if self._printer is not None:
            self._printer.device.write_timeout = seconds

    def open(self) -> None:
        printer = escpos_classes.serial()(
            self.path, baudrate=self.baud, timeout=self.timeout, dsrdtr=False, xonxoff=self.xonxoff
        )
        try:
            printer.open()
        except Exception as exc:
            raise PrinterUnreachableError(f"{self.description}: {_cause(exc)}") from exc
        printer.device.write_timeout = self.timeout
        printer.device.rtscts = self.rtscts
        self._printer = printer

    def write(self, data: bytes) -> None:
        try:
            self._printer.device.write(data)
            self._printer.device.flush()
        except serial.SerialTimeoutException as exc:
            raise PrinterTimeoutError(f"{self.description}: write timed out") from exc
        except (serial.SerialException, OSError) as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc

    def read(self, count: int, timeout: float) -> bytes:
        try:
            self._printer.device.timeout = timeout
            data: bytes = self._printer.device.read(count)
        except (serial.SerialException, OSError) as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc
        return data

    def drain(self) -> None:
        try:
            self._printer.device.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc

    def close(self) -> None:
        if self._printer is not None:
            with contextlib.suppress(Exception):
                self._printer.close()
        self._printer = None


class UsbTransport:
    """A USB printer class device through pyusb (libusb)."""

    can_read = True

    def __init__(self, address: PrinterAddress) -> None:
        vid, _, pid = address.target.partition(":")
        self.vid, self.pid = int(vid, 16), int(pid, 16)
        try:
            self.in_ep = int(address.option("in_ep", "0x82"), 0)
            self.out_ep = int(address.option("out_ep", "0x01"), 0)
        except ValueError:
            raise PrinterConfigError("in_ep/out_ep must be numbers, e.g. 0x82") from None
        self.timeout_ms = int(address.timeout * 1000)
        self.description = f"usb://{vid}:{pid}"
        self._printer: Any = None

    def limit(self, seconds: float) -> None:
        self.timeout_ms = max(int(seconds * 1000), 1)
        if self._printer is not None:
            self._printer.timeout = self.timeout_ms

    def open(self) -> None:
        try:
            printer = escpos_classes.usb()(
                self.vid,
                self.pid,
                timeout=self.timeout_ms,
                in_ep=self.in_ep,
                out_ep=self.out_ep,
            )
            printer.open()
        except Exception as exc:  # no pyusb, no libusb backend, no device: all "unreachable"
            raise PrinterUnreachableError(f"{self.description}: {_cause(exc)}") from exc
        self._printer = printer

    def write(self, data: bytes) -> None:
        try:
            self._printer._raw(data)
        except Exception as exc:
            if "timeout" in str(exc).lower():
                raise PrinterTimeoutError(f"{self.description}: write timed out") from exc
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc

    def read(self, count: int, timeout: float) -> bytes:
        try:
            data = self._printer.device.read(self.in_ep, count, int(timeout * 1000))
        except Exception as exc:
            if "timeout" in str(exc).lower():
                return b""
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc
        return bytes(data)

    def drain(self) -> None:
        with contextlib.suppress(Exception):
            while self.read(64, 0.01):
                pass

    def close(self) -> None:
        if self._printer is not None:
            with contextlib.suppress(Exception):
                self._printer.close()
        self._printer = None


class FileTransport:
    """A device node (``/dev/usb/lp0``) or a plain file (jobs appended). It cannot answer
    status, so status stays unknown and the job counts as printed once written."""

    can_read = False

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"file://{path}"
        self._printer: Any = None

    def limit(self, seconds: float) -> None:
        return None  # a local file or device node: writes do not wait on a printer

    def open(self) -> None:
        printer = escpos_classes.file()(self.path, auto_flush=True)
        try:
            regular = not os.path.exists(self.path) or stat.S_ISREG(os.stat(self.path).st_mode)
            printer.device = open(self.path, "ab" if regular else "wb")  # noqa: SIM115
        except OSError as exc:
            raise PrinterUnreachableError(f"{self.description}: {exc}") from exc
        self._printer = printer

    def write(self, data: bytes) -> None:
        try:
            self._printer._raw(data)
        except OSError as exc:
            raise PrinterDisconnectedError(f"{self.description}: {exc}") from exc

    def read(self, count: int, timeout: float) -> bytes:
        return b""

    def drain(self) -> None:
        return None

    def close(self) -> None:
        if self._printer is not None:
            with contextlib.suppress(OSError):
                self._printer.close()
        self._printer = None
