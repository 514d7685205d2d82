"""The cashier app (Textual): :class:`CashierApp` on top of :class:`Counter`, the counter's
card, basket and paper as blocking calls the app runs in workers."""

from terminal.app.app import CashierApp
from terminal.app.counter import Counter, Presentation

__all__ = ["CashierApp", "Counter", "Presentation"]
