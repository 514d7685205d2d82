"""What a decided record writes about the card: its counter, every purse's balance, its money.

:class:`CardWrites` is the part of :class:`~host_gateway.ingest.rules.BatchRules` that turns a
record with genuine card evidence into writes: the card counter (clone and replay evidence), the
balances of every purse after it with its own movement (continuity,
:mod:`host_gateway.continuity`) and the journal entry. A counter the host already held from the
card's log or from an operator's settlement is taken over by the record, and its money moves once
(:mod:`host_gateway.ingest.catchup`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from host_gateway import postings
from host_gateway.continuity import movement_rows
from host_gateway.fastsql import Raw
from host_gateway.ingest import catchup as ingest_catchup
from host_gateway.ingest.state import BatchState, CatchUp, Writes
from host_gateway.ingest.verification import Facts


class CardWrites(BatchState):
    shop_id: str
    writes: Writes

    def __init__(self, session: Session, terminal_id: str, batch: list[Facts]) -> None:
        super().__init__(session, terminal_id, batch)
        self.catching_up: dict[bytes, tuple[str, bytes]] = {}
        """Records whose card counter the host held from a card's log or a settlement."""
        self.cancelled = _cancelled_in_suspense(session, sorted(self.cards))

    def _evidence(self, facts: Facts) -> None:
        if facts.type in ("block", "pin_unblock"):
            return  # these keep the card's counter: that counter's transaction is another
        number, counter = facts.card_number, facts.card_counter
        assert number is not None and counter is not None
        held = self.catching_up.get(facts.record_id)
        if held is not None:
            self.writes.catch_ups.append(
                CatchUp(number, counter, *held, facts.record_id, facts.proof_hash, facts.type)
            )
        else:
            self.writes.card_transactions.append(
                {
                    "card_number": number,
                    "counter": counter,
                    "proof_hash": facts.proof_hash,
                    "record_id": facts.record_id,
                    "kind": facts.type,
                }
            )
        self.writes.counted.append((number, counter))
        if held is None or held[0] == "settled":  # the card's log gave these balances already
            self.writes.purse_proofs.extend(
                movement_rows(number, counter, facts.type, facts.purses, facts.others, facts.swept)
            )

    def _post(self, facts: Facts) -> None:
        number = facts.card_number
        assert number is not None
        entry = postings.Entry(facts.type if facts.ok else "refused", facts.code, facts.record_id)
        # The card's log showed this debit cancelled at the next counter, booked against suspense
        # when no record of the debit was held: the shop is not paid for it.
        cancelled = facts.type == "sale" and (number, facts.card_counter) in self.cancelled
        for code, amount, _ in facts.purses:
            purse = postings.purse(number, code)
            if facts.type == "sale":
                paid = facts.ok and not cancelled
                other = postings.shop(self.shop_id) if paid else postings.suspense(code)
                entry.transfer(purse, other, amount)
            elif facts.type == "void":
                other = postings.shop(self.shop_id) if facts.ok else postings.suspense(code)
                entry.transfer(other, purse, amount)
            elif facts.type == "load":
                entry.transfer(purse, postings.expired(code), facts.swept)
                other = postings.pending(code) if facts.ok else postings.suspense(code)
                entry.transfer(other, purse, amount)
        if facts.ok and facts.type in ("sale", "void"):
            self._sold(facts)
        held = self.catching_up.get(facts.record_id)
        if held is None:
            self.writes.entries.append(entry)
        else:
            self.writes.entries.extend(
                ingest_catchup.entries(self.session, facts, held, entry, self.shop_id, cancelled)
            )

    def _sold(self, facts: Facts) -> None:
        """The counter's movement per program, as ``purse_proofs`` holds it (a purse the card
        left alone counts 0: the program is on the dashboard with nothing sold)."""
        sign = 1 if facts.type == "sale" else -1
        sold = self.writes.sold
        for code, amount, _ in facts.purses:
            sold[code] = sold.get(code, 0) + sign * amount
        for code, _ in facts.others:
            sold.setdefault(code, 0)


def _cancelled_in_suspense(session: Session, cards: list[str]) -> set[tuple[str, int]]:
    """(card, counter) of debits the card's log showed cancelled (the void is held as evidence,
    booked against suspense because no record of the debit was held then). Few or none."""
    if not cards:
        return set()
    raw = Raw(session)
    condition, params = raw.any_of("card_number", cards, "text")
    rows = raw.rows(
        "SELECT card_number, counter FROM card_evidence"
        f" WHERE kind = 'void' AND account = 'suspense' AND {condition}",
        params,
    )
    return {(number, int(counter) - 1) for number, counter in rows}
