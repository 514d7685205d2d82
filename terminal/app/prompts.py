"""Small modal prompts: a PIN (masked), the supervisor PIN, a quantity, an item search.

Each dismisses with the value typed, or None on Escape; a PIN is never logged or shown.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option


class Prompt(ModalScreen[str | None]):
    """One line of input; ``secret`` masks it (PINs)."""

    DEFAULT_CSS = """
    Prompt { align: center middle; }
    Prompt > Vertical { width: 60; height: auto; border: thick $accent; padding: 1 2;
                        background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Esc")]

    def __init__(self, title: str, *, secret: bool = False, hint: str = "", id: str = "") -> None:
        super().__init__(id=id or None)
        self.title_text, self.secret, self.hint = title, secret, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            if self.hint:
                yield Label(self.hint, id="hint")
            yield Input(password=self.secret, id="value")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class SearchPrompt(ModalScreen[str | None]):
    """Catalog items whose name contains the words typed; Enter picks one (its GTIN)."""

    DEFAULT_CSS = """
    SearchPrompt { align: center middle; }
    SearchPrompt > Vertical { width: 70; height: 20; border: thick $accent; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Esc")]

    def __init__(self, title: str, items: list[tuple[str, str]], query: str) -> None:
        super().__init__()
        self.title_text, self.items, self.search_text = title, items, query

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield OptionList(*self._matches(self.search_text), id="matches")

    def _matches(self, query: str) -> list[Option]:
        wanted = query.lower().split()
        return [
            Option(f"{name}  ({gtin})", id=gtin)
            for gtin, name in self.items
            if all(word in name.lower() for word in wanted)
        ]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
