"""The shape docs/architecture.md promises, checked on the code itself."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_IN_THE_SALE_ENGINE = {
    "escpos": "printing",
    "PIL": "printing (images)",
    "qrcode": "printing (QR codes)",
    "serial": "serial devices",
    "usb": "USB devices",
    "httpx": "HTTP",
    "smartcard": "PC/SC",
    "textual": "the terminal UI",
}


def _loaded_after(statement: str) -> set[str]:
    """Top-level packages loaded by ``statement`` in a fresh interpreter."""
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    return {name.split(".")[0] for name in json.loads(done.stdout)}


def test_the_sale_engine_imports_no_device_network_or_ui_library() -> None:
    """The engine talks to ports (terminal/sale/ports.py); the adapters bring the libraries."""
    loaded = _loaded_after("import terminal.sale")
    found = {name: why for name, why in FORBIDDEN_IN_THE_SALE_ENGINE.items() if name in loaded}
    assert found == {}


def test_the_adapters_do_bring_them() -> None:
    """The check above can fail: the real composer loads python-escpos (when it first writes
    a receipt: the import is deferred so start-up does not pay for it)."""
    loaded = _loaded_after(
        "from terminal.receipts.config import PAPER_80\n"
        "from terminal.receipts.escpos_writer import ReceiptWriter\n"
        "writer = ReceiptWriter(PAPER_80)\nwriter.qr('SSN1:test')\nwriter.output()"
    )
    assert {"escpos", "qrcode"} <= loaded
