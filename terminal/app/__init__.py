"""The cashier app (Textual): :class:`CashierApp` on top of :class:`Counter`, the counter's
card, basket and paper as blocking calls the app runs in workers.

:class:`Counter` pulls in the whole sale engine: it is imported when first asked for, so
``ssn-terminal run`` shows the sign-in screen before it loads (:mod:`terminal.app.app`).
"""

from typing import TYPE_CHECKING, Any

from terminal.app.app import CashierApp, SaleSide

if TYPE_CHECKING:
    from terminal.app.counter import Counter, Presentation

__all__ = ["CashierApp", "Counter", "Presentation", "SaleSide"]


def __getattr__(name: str) -> Any:
    if name in ("Counter", "Presentation"):
        from terminal.app import counter

        return getattr(counter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
