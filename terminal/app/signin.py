"""Sign-in (cashier id + PIN) and the first run (supervisor PIN and the first cashier).

Wrong PINs are counted; after :data:`MAX_TRIES` the sign-in waits :data:`LOCK_SECONDS`, so a
PIN cannot be guessed at the counter between two holders.

A PIN is checked (or, at the first run, hashed) with scrypt, slow on purpose: that runs in a
thread worker and lands as a message (:class:`PinChecked`, :class:`StaffSaved`), so the screen
keeps taking keys. An Enter while it runs, or after the cashier got in, starts nothing: a
double press never checks twice, counts a wrong try or signs in twice.
"""

from __future__ import annotations

import time

from textual import work
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


class PinChecked(Message):
    """The sign-in's PIN check is done (in a worker): ``right`` or not."""

    def __init__(self, cashier: str, right: bool) -> None:
        super().__init__()
        self.cashier, self.right = cashier, right


class StaffSaved(Message):
    """The first run's PINs are saved (in a worker), or ``error`` says why not."""

    def __init__(self, cashier: str, error: str | None) -> None:
        super().__init__()
        self.cashier, self.error = cashier, error


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
        self.checking = False
        """A PIN check runs in a worker, or the cashier is in: Enter starts nothing."""

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
        if self.checking:
            return
        error = self.query_one("#error", Label)
        left = self.locked_until - time.monotonic()
        if left > 0:
            error.update(message("sign_in_locked", self.language, seconds=int(left) + 1))
            return
        cashier = self.query_one("#cashier", Input).value.strip()
        pin_input = self.query_one("#pin", Input)
        pin, pin_input.value = pin_input.value, ""
        self.checking = True
        self.check(cashier, pin)

    @work(thread=True, group="pin")
    def check(self, cashier: str, pin: str) -> None:
        self.post_message(PinChecked(cashier, check_cashier(self.home, cashier, pin)))

    def on_pin_checked(self, event: PinChecked) -> None:
        if event.right:
            self.failures = 0  # self.checking stays: the cashier is in, once
            self.post_message(SignedIn(event.cashier))
            return
        self.checking = False
        self.failures += 1
        if self.failures >= MAX_TRIES:
            self.failures = 0
            self.locked_until = time.monotonic() + LOCK_SECONDS
        self.query_one("#error", Label).update(message("sign_in_failed", self.language))


class FirstRunScreen(Screen[None]):
    DEFAULT_CSS = _CSS

    def __init__(self, home: TerminalHome, words: dict[str, str]) -> None:
        super().__init__()
        self.home, self.words = home, words
        self.saving = False
        """The PINs are being saved in a worker, or are saved: Enter starts nothing."""

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
        if self.saving:
            return
        values = {name: self.query_one(f"#{name}", Input).value.strip() for name in order}
        if values["supervisor"] != values["supervisor2"] or values["pin"] != values["pin2"]:
            self.query_one("#error", Label).update(self.words["pins_differ"])
            return
        self.saving = True
        self.save(values["cashier"], values["pin"], values["supervisor"])

    @work(thread=True, group="pin")
    def save(self, cashier: str, pin: str, supervisor_pin: str) -> None:
        try:
            set_cashier(self.home, cashier, pin)
            set_supervisor_pin(self.home, supervisor_pin)
        except StaffError as exc:
            self.post_message(StaffSaved(cashier, str(exc)))
        else:
            self.post_message(StaffSaved(cashier, None))

    def on_staff_saved(self, event: StaffSaved) -> None:
        if event.error is not None:
            self.saving = False
            self.query_one("#error", Label).update(event.error)
            return
        self.post_message(SignedIn(event.cashier))
