"""Typed printer errors, each with a message the cashier can act on (Indonesian by default,
English on request). ``str(error)`` is the technical detail for the log."""

from __future__ import annotations

from drivers.printer.status import PrinterStatus, Problem

_MESSAGES: dict[str, dict[str, str]] = {
    "config": {
        "id": "Alamat printer tidak valid. Periksa pengaturan printer.",
        "en": "The printer address is not valid. Check the printer settings.",
    },
    "unreachable": {
        "id": "Printer tidak dapat dihubungi. Periksa kabel/jaringan dan daya printer.",
        "en": "Cannot reach the printer. Check its cable or network and its power.",
    },
    "timeout": {
        "id": "Printer tidak merespons (waktu habis).",
        "en": "The printer does not respond (timed out).",
    },
    "slow": {
        "id": "Printer terlalu lambat; batas waktu cetak habis.",
        "en": "The printer is too slow; the time for printing ran out.",
    },
    "busy": {
        "id": "Printer sedang mencetak struk lain.",
        "en": "The printer is busy printing another receipt.",
    },
    "not_a_printer": {
        "id": "Yang menjawab di alamat printer bukan printer struk. Periksa alamat printer.",
        "en": "Something other than a receipt printer answers at the printer address. "
        "Check the printer address.",
    },
    "disconnected": {
        "id": "Sambungan ke printer terputus.",
        "en": "The connection to the printer was lost.",
    },
    Problem.PAPER_END: {
        "id": "Kertas printer habis. Pasang gulungan kertas baru.",
        "en": "The printer is out of paper. Load a new roll.",
    },
    Problem.COVER_OPEN: {
        "id": "Tutup printer terbuka. Tutup dengan rapat.",
        "en": "The printer cover is open. Close it firmly.",
    },
    Problem.OFFLINE: {
        "id": "Printer sedang offline. Periksa lampu dan tombol printer.",
        "en": "The printer is offline. Check its lights and buttons.",
    },
    Problem.UNKNOWN: {
        "id": "Jawaban status printer tidak dapat dibaca. Periksa printer.",
        "en": "The printer's status reply cannot be read. Check the printer.",
    },
    "near_end": {
        "id": "Kertas printer hampir habis.",
        "en": "The printer paper is running low.",
    },
}


def message(key: str, language: str = "id") -> str:
    """A cashier message by key, in ``language`` ("id" or "en"; anything else: Indonesian)."""
    texts = _MESSAGES[key]
    return texts.get(str(language), texts["id"])


class PrinterError(Exception):
    """The printer could not take a job. ``code`` is stable (logs, tests, the UI)."""

    code = "printer"

    def __init__(self, detail: str, *, key: str | None = None) -> None:
        super().__init__(detail)
        self._key = key or self.code

    def cashier_message(self, language: str = "id") -> str:
        return message(self._key, language)


class PrinterConfigError(PrinterError):
    code = "config"


class PrinterUnreachableError(PrinterError):
    """Connection refused, no such device, no route: nothing was sent."""

    code = "unreachable"


class PrinterTimeoutError(PrinterError):
    """The printer stopped answering or taking data in time (``key="slow"``: it answers, but
    the time allowed for the whole job ran out first)."""

    code = "timeout"


class PrinterBusyError(PrinterError):
    """Another process of this terminal holds the printer: it is printing, not silent."""

    code = "busy"


class NotAPrinterError(PrinterError):
    """Something answers at the address, but not as an ESC/POS printer (a web server, say)."""

    code = "not_a_printer"


class PrinterDisconnectedError(PrinterError):
    """The connection or device went away (before the job's bytes, or during them)."""

    code = "disconnected"


class PrinterNotReadyError(PrinterError):
    """The printer answered, and its status says it cannot print (or it did not answer)."""

    code = "not_ready"

    def __init__(self, status: PrinterStatus, when: str) -> None:
        problem = status.problem() or Problem.UNKNOWN
        super().__init__(f"printer not ready {when} the job: {problem}", key=problem)
        self.status = status
        self.problem = problem
