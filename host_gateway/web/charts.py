"""Bar charts drawn as inline SVG by the templates: no JavaScript, nothing to download, readable
when printed, and the numbers are in the page for tests and screen readers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    text: str
    """The value as people read it (rupiah)."""
    percent: float
    """Length relative to the longest bar, 0-100."""


def bars(items: list[tuple[str, int, str]]) -> list[Bar]:
    """Bars for (label, value, text) items, scaled to the largest value."""
    top = max((value for _, value, _ in items), default=0)
    return [
        Bar(label, value, text, 100.0 * value / top if top > 0 and value > 0 else 0.0)
        for label, value, text in items
    ]
