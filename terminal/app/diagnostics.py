"""Diagnostics: readers, printer (with a test page), gateway, document versions, outbox.

Gathered in a worker (a dead printer or gateway takes seconds to say so); the screen shows
the lines when they come.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

if TYPE_CHECKING:
    from terminal.app.app import CashierApp


class DiagnosticsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DiagnosticsScreen { align: center middle; }
    DiagnosticsScreen > Vertical { width: 90; height: auto; border: thick $accent;
                                   padding: 1 2; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Tutup"),
        Binding("t", "test_page", "Tes printer"),
    ]

    def __init__(self, app: CashierApp) -> None:
        super().__init__(id="diagnostics")
        self.cashier_app = app

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.cashier_app.w["diagnostics"])
            yield Static("…", id="lines")
            yield Static("", id="test")
        yield Footer()

    def on_mount(self) -> None:
        self.gather()

    @work(thread=True, group="diagnostics")
    def gather(self) -> None:
        app = self.cashier_app
        lines = app.counter.diagnostics(app.gateway_reachable)
        text = "\n".join(f"{what:16} {state}" for what, state in lines)
        app.call_from_thread(self.query_one("#lines", Static).update, text)

    def action_test_page(self) -> None:
        self.test_page()

    @work(thread=True, group="diagnostics")
    def test_page(self) -> None:
        said = self.cashier_app.counter.print_test_page()
        self.cashier_app.call_from_thread(self.query_one("#test", Static).update, f"test: {said}")
