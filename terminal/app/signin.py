"""Sign-in (cashier id + PIN) and the first run (supervisor PIN and the first cashier).

Wrong PINs are counted; after :data:`MAX_TRIES` the sign-in waits :data:`LOCK_SECONDS`, so a
PIN cannot be guessed at the counter between two holders.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from terminal.home import TerminalHome
from terminal.messages import message
from terminal.staff import StaffError, check_cashier, set_cashier, set_supervisor_pin

MAX_TRIES = 5
LOCK_SECONDS = 60


class SignedIn(Message):
    def __init__(self, cashier: str) -> None:
        super().__init__()
        self.cashier = cashier


_CSS = """
SignInScreen, FirstRunScreen { align: center middle; }
SignInScreen > Vertical, FirstRunScreen > Vertical { width: 64; height: auto;
    border: thick $accent; padding: 1 2; }
#error { color: $error; }
"""


class SignInScreen(Screen[None]):
    DEFAULT_CSS = _CSS

    def __init__(self, home: TerminalHome, words: dict[str, str], language: str) -> None:
        super().__init__()
        self.home, self.words, self.language = home, words, language
        self.failures = 0
        self.locked_until = 0.0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.words["sign_in"], id="heading")
            yield Input(placeholder=self.words["cashier_id"], id="cashier")
            yield Input(placeholder=self.words["pin"], password=True, id="pin")
            yield Label("", id="error")
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "cashier":
            self.query_one("#pin", Input).focus()
            return
        error = self.query_one("#error", Label)
        left = self.locked_until - time.monotonic()
        if left > 0:
            error.update(message("sign_in_locked", self.language, seconds=int(left) + 1))
            return
        cashier = self.query_one("#cashier", Input).value.strip()
        pin_input = self.query_one("#pin", Input)
        pin, pin_input.value = pin_input.value, ""
        if check_cashier(self.home, cashier, pin):
            self.failures = 0
            self.post_message(SignedIn(cashier))
            return
        self.failures += 1
        if self.failures >= MAX_TRIES:
            self.failures = 0
            self.locked_until = time.monotonic() + LOCK_SECONDS
        error.update(message("sign_in_failed", self.language))


class FirstRunScreen(Screen[None]):
    DEFAULT_CSS = _CSS

    def __init__(self, home: TerminalHome, words: dict[str, str]) -> None:
        super().__init__()
        self.home, self.words = home, words

    def compose(self) -> ComposeResult:
        w = self.words
        with Vertical():
            yield Label(w["first_run"], id="heading")
            yield Label(w["first_run_hint"])
            yield Input(placeholder=w["supervisor_pin"], password=True, id="supervisor")
            yield Input(placeholder=w["again"], password=True, id="supervisor2")
            yield Input(placeholder=w["cashier_id"], id="cashier")
            yield Input(placeholder=w["pin"], password=True, id="pin")
            yield Input(placeholder=w["again"], password=True, id="pin2")
            yield Label("", id="error")
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        order = ["supervisor", "supervisor2", "cashier", "pin", "pin2"]
        index = order.index(event.input.id or "pin2")
        if index < len(order) - 1:
            self.query_one(f"#{order[index + 1]}", Input).focus()
            return
        values = {name: self.query_one(f"#{name}", Input).value.strip() for name in order}
        error = self.query_one("#error", Label)
        if values["supervisor"] != values["supervisor2"] or values["pin"] != values["pin2"]:
            error.update(self.words["pins_differ"])
            return
        try:
            set_cashier(self.home, values["cashier"], values["pin"])
            set_supervisor_pin(self.home, values["supervisor"])
        except StaffError as exc:
            error.update(str(exc))
            return
        self.post_message(SignedIn(values["cashier"]))
