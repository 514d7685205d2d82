"""What the sale screen shows: the card panel, the basket with its totals, the status bar.

Each widget renders from plain values handed to it; none touches a device or the journal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable, Static

from drivers.card.protocol import CardInfo
from ledger.catalog import Catalog
from terminal.app.words import rupiah
from terminal.basket import Basket, ScannedItem
from terminal.messages import message

WITA = dt.timezone(dt.timedelta(hours=8), "WITA")


class StatusBar(Static):
    """Reader, printer, network and sync, offline limits left: always visible."""

    def show(
        self,
        w: Mapping[str, str],
        reader: str,
        printer: str,
        status: Mapping[str, Any] | None,
        scanner: str | None = None,
        problem: str | None = None,
    ) -> None:
        """``status`` is None until the journal's first answer; a ``problem`` (the journal
        failed or hangs) takes the place of the figures it would have given."""
        parts = [f"{w['reader']}: {reader}"]
        if scanner is not None:
            parts.append(f"{w['scanner']}: {scanner}")
        if problem is not None or status is None:
            parts.append(f"{w['journal']}: {problem or w['status_reading']}")
            self.update(Text(" │ ".join(parts)))  # plain text: an error may hold [brackets]
            return
        last = status.get("last_sync")
        synced = (
            dt.datetime.fromtimestamp(last, WITA).strftime("%d-%m %H:%M") if last else w["never"]
        )
        network = w["offline"] if status.get("offline") else w["online"]
        parts += [
            f"{w['printer']}: {printer}",
            f"{w['network']}: {network}, {w['queued']} {status.get('outbox', 0)}, "
            f"{w['last_sync']} {synced}",
            f"{w['offline_left']}: {rupiah(int(status.get('offline_left', 0)))}",
        ]
        self.update(Text(" │ ".join(parts)))


class CardPanel(Static):
    def show_card(
        self,
        w: Mapping[str, str],
        card: str,
        info: CardInfo | None,
        caps: Mapping[int, int],
        catalog: Catalog | None,
        next_aid: Sequence[tuple[str, dt.date]] = (),
    ) -> None:
        if not card:
            self.update(w["no_card_yet"])
            return
        lines = [f"[b]{card}[/b]"]
        if info is None or not info.holder_known:
            tries = f" ({w['tries_left']}: {info.pin_tries_left})" if info else ""
            lines.append(w["holder_pin"] + tries)
        if info is not None and info.purses:  # after the PIN, or the balances a sale signed
            if info.holder_name:
                lines.append(info.holder_name)
            for purse in info.purses:
                lines.append(
                    f"{purse.code}: {rupiah(purse.balance)}  "
                    f"{w['expires']} {purse.expiry.strftime('%d-%m-%Y')}"
                )
            for purse_code, due in next_aid:
                lines.append(f"{w['next_aid']} {purse_code}: {due.strftime('%d-%m-%Y')}")
            if caps and catalog is not None:
                lines.append(w["caps_left"] + ":")
                for code, left in sorted(caps.items()):
                    category = catalog.categories.get(code)
                    if category is not None:
                        lines.append(f"  {category.name}: {left} {category.base_unit}")
        self.update("\n".join(lines))


class BasketTable(DataTable[str | Text]):
    """One row per scanned item: before the PIN what the catalog says, after it what the card
    pays (purse, HET cap, refused with the reason)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"

    def show(
        self,
        w: Mapping[str, str],
        language: str,
        scans: Sequence[ScannedItem],
        catalog: Catalog | None,
        basket: Basket | None,
    ) -> None:
        if not self.columns:
            for key in ("item", "qty", "price", "het", "purse", "line_status"):
                self.add_column(w[key], key=key)
        self.clear()
        paid = {line.gtin: line for line in basket.lines} if basket else {}
        refused = {line.gtin: line for line in basket.refused} if basket else {}
        for scan in scans:
            item = catalog.item(scan.gtin) if catalog else None
            name = item.name if item else scan.gtin
            het = rupiah(item.het) if item else "-"
            price, purse, status = "-", "-", ""
            if scan.gtin in paid:
                line = paid[scan.gtin]
                price = rupiah(line.unit_price * line.quantity)
                purse = ", ".join(code for code, _ in line.paid) or w["total_cash"]
                status = w["eligible"]
                if scan.gtin in refused:  # part of the quantity is over a cap
                    left = refused[scan.gtin]
                    status = f"{line.quantity} {status}, {left.quantity} " + message(
                        str(left.reason), language
                    )
            elif scan.gtin in refused:
                status = message(str(refused[scan.gtin].reason), language)
            elif item is None:
                status = message("not_in_catalog", language)
            elif not item.programs:
                status = message("not_eligible", language)
            style = "" if status == w["eligible"] else "red"
            self.add_row(
                name,
                str(scan.quantity),
                price,
                het,
                purse,
                Text(status, style=style),
                key=scan.gtin,
            )


def totals_text(w: Mapping[str, str], basket: Basket | None) -> str:
    if basket is None:
        return ""
    parts = [f"{code} {rupiah(amount)}" for code, amount in basket.purse_amounts()]
    text = f"{w['total_card']}: {rupiah(basket.card_total)}"
    if parts:
        text += " (" + ", ".join(parts) + ")"
    if basket.cash:
        text += f"   {w['total_cash']}: {rupiah(basket.cash)}"
    return text
