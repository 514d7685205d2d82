"""python-escpos's printer classes, imported when a printer is first opened: importing
python-escpos reads its whole printer-capability database (~0.3 s), which a cashier app or a
sale command should not pay at start-up."""

from __future__ import annotations

from typing import Any


def network() -> Any:
    from escpos.printer import Network

    return Network


def serial() -> Any:
    from escpos.printer import Serial

    return Serial


def usb() -> Any:
    from escpos.printer import Usb

    return Usb


def file() -> Any:
    from escpos.printer import File

    return File
