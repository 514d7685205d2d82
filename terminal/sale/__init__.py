"""The sale engine: every card operation at the counter, each ending in an :class:`Outcome`.

- :func:`sell` (sale.py): scanned items + card + PIN → committed sale record, or a refusal.
- :func:`void_sale` (void.py), :func:`balance_inquiry` (balance.py), :func:`close_day`
  (dayclose.py), :func:`apply_loads` (loads.py), hotlist enforcement (blocking.py).
- :func:`resolve_for_card` / :func:`mark_interrupted` (recovery.py): settling unfinished
  operations with the card's own log.
- :class:`Till` (till.py): what every operation needs besides the card.

The engine talks to the card only through :class:`drivers.card.session.CardSession` and to
the disk only through the journal; it never imports pyscard, httpx or Textual.
"""

from terminal.sale.balance import balance_inquiry, balance_of
from terminal.sale.dayclose import close_day
from terminal.sale.loads import apply_loads
from terminal.sale.outcome import Balance, Outcome, Resolution, Status
from terminal.sale.recovery import mark_interrupted, resolve_for_card
from terminal.sale.sale import (
    Presented,
    after_charge,
    basket_for,
    charge,
    present_card,
    sell,
    verify_holder,
)
from terminal.sale.till import Till
from terminal.sale.void import void_sale

__all__ = [
    "Balance",
    "Outcome",
    "Presented",
    "Resolution",
    "Status",
    "Till",
    "after_charge",
    "apply_loads",
    "balance_inquiry",
    "balance_of",
    "basket_for",
    "charge",
    "close_day",
    "mark_interrupted",
    "present_card",
    "resolve_for_card",
    "sell",
    "verify_holder",
    "void_sale",
]
