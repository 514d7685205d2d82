"""The rules of ingest that need the host's memory: chain, card counters, catalog, voids, loads.

:class:`BatchRules` is built inside the ingest transaction (under the ingest lock) on the
batch's :class:`~host_gateway.ingest.state.BatchState`, then decides record by record in sequence
order, so a void can refer to a sale earlier in the same batch. It collects what to write; it
writes nothing itself (:mod:`host_gateway.ingest` does, in the same transaction).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from host_gateway.events import EventRow
from host_gateway.ingest.clock import FUTURE_SLACK, CardTimeline, Window
from host_gateway.ingest.state import Link, Writes
from host_gateway.ingest.verification import Facts
from host_gateway.ingest.writes import CardWrites
from host_gateway.models import LoadSupersession, StoredRecord
from host_gateway.pin_unblocks import Applied
from ledger.bodies import SaleBody
from ledger.cardproofs import DebitProof
from ledger.catalog import Catalog
from ledger.record import GENESIS_HASH, Record

_NOT_THIS_CARD = {"load_replay", "proof_before_trusted_date"}
"""Refusals whose card evidence comes from a copy of the card: it is not this card's history."""
_KEEPS_COUNTER = {"block", "pin_unblock"}
"""Card receipts that name the counter of the card's last transaction, not a new one."""
CatalogLookup = Callable[[int], Catalog | None]


class BatchRules(CardWrites):
    def __init__(
        self,
        session: Session,
        terminal_id: str,
        shop_id: str,
        batch: list[Facts],
        catalogs: CatalogLookup,
        window: Window,
    ) -> None:
        super().__init__(session, terminal_id, batch)
        self.shop_id, self.catalogs, self.received_at = shop_id, catalogs, window.received
        self.time = CardTimeline(session, batch, window)
        self.writes = Writes()

    # --- deciding -------------------------------------------------------------------------

    def decide(self, facts: Facts, data: bytes) -> Facts:
        """Decide one record; collects its writes. Returns the facts with the final outcome."""
        if not facts.ok and not facts.stored:
            self._event(facts, facts.code, facts.message)
            return facts
        if facts.ok and facts.type == "void" and self._must_wait(facts):
            facts.ok, facts.code = False, "deferred"
            facts.message = f"voided sale seq {facts.original_seq} has not arrived yet: resend"
            return facts
        in_chain = self._check_chain(facts)
        # A card's BLOCK and UNBLOCK PIN keep its counter (the receipt names the counter of its
        # last transaction): no new transaction at that counter, so no clone or replay evidence.
        genuine = (
            facts.card_number is not None
            and self._check_card_key(facts)
            and (facts.type in _KEEPS_COUNTER or self._check_counter(facts))
        )
        if facts.ok:
            self._check_type_rules(facts)
        if facts.time > self.received_at + FUTURE_SLACK and facts.code != "proof_time_future":
            self._event(facts, "record_time_future", f"record time {facts.time} is ahead")
        if not facts.ok:
            self._event(facts, facts.code, facts.message)
        self._store(facts, data, in_chain)
        if genuine and facts.code not in _NOT_THIS_CARD:
            self._evidence(facts)
            self._post(facts)
        if facts.ok:
            self.time.note_accepted(facts)
        return facts

    def _check_chain(self, facts: Facts) -> bool:
        holder = self.chain.get(facts.seq)
        if holder is not None and holder.record_id != facts.record_id:
            facts.reject(
                "sequence_conflict",
                f"another record already holds seq {facts.seq} of {self.terminal_id}",
                stored=True,
            )
            return False
        previous = self.chain.get(facts.seq - 1)
        expected = GENESIS_HASH if facts.seq == 1 else (previous.hash if previous else None)
        following = self.chain.get(facts.seq + 1)
        broken = (expected is not None and facts.prev_hash != expected) or (
            following is not None and following.prev_hash != facts.hash
        )
        if broken:
            facts.reject(
                "chain_broken",
                f"seq {facts.seq} does not link to its neighbours (removed, reordered or altered)",
                stored=True,
            )
            return False
        self.chain[facts.seq] = Link(facts.record_id, facts.hash, facts.prev_hash)
        return True

    def _check_card_key(self, facts: Facts) -> bool:
        """False when a CA-signed certificate names a registered number with another key than
        the one registered for it: a second card under that number (one torn at issuance before
        numbers were spent first, or a misused CA key). Its counters are not this card's, so
        they must not flag the real card as cloned, and its money is not this card's purse."""
        assert facts.card_number is not None
        registered = self.card_keys.get(facts.card_number)
        if registered is None or not facts.card_key or facts.card_key == registered:
            return True
        facts.reject(
            "card_key_mismatch",
            f"card {facts.card_number}'s certificate names another key than the card issued"
            " under that number",
            stored=True,
        )
        return False

    def _check_counter(self, facts: Facts) -> bool:
        """False when this card evidence must not move money (clone or replayed proof)."""
        assert facts.card_number is not None and facts.card_counter is not None
        key = (facts.card_number, facts.card_counter)
        seen = self.counters.get(key)
        if seen is None:
            self.counters[key] = facts.proof_hash
            return True
        held = self.held_elsewhere.pop(key, None)
        if held is not None and (held[0] == "settled" or seen == facts.proof_hash):
            self.counters[key] = facts.proof_hash
            self.catching_up[facts.record_id] = held
            return True
        if seen == facts.proof_hash:
            facts.reject(
                "card_proof_replayed",
                f"card {facts.card_number} counter {facts.card_counter} is already settled",
                stored=True,
            )
        else:
            facts.reject(
                "card_cloned",
                f"card {facts.card_number} counter {facts.card_counter} seen with other content",
                stored=True,
            )
            self._flag_clone(facts.card_number)
        return False

    def _flag_clone(self, number: str) -> None:
        if number not in self.writes.clones:
            self.writes.clones.append(number)
        self.writes.card_status[number] = "cloned"

    def _check_type_rules(self, facts: Facts) -> None:
        number = facts.card_number
        if number is not None and number not in self.cards:
            facts.reject("card_unknown", f"card {number} is not registered here", stored=True)
            return
        if facts.type in ("void", "load") and not self.time.card_valid(facts):
            return
        if facts.type == "sale":
            self._check_sale(facts)
        elif facts.type == "void":
            self._check_void(facts)
        elif facts.type == "load":
            self._check_load(facts)
        elif facts.type == "pin_unblock":
            self._check_pin_unblock(facts)
        elif facts.type == "block" and number is not None:
            assert facts.card_counter is not None
            blocked_at = self.block_counters.get(number, facts.card_counter)
            self.block_counters[number] = min(blocked_at, facts.card_counter)
            if self._status(number) != "cloned":
                self.writes.card_status[number] = "blocked"  # a clone flag stays: two histories

    def _signed_before_block(self, facts: Facts) -> bool:
        """A card's BLOCK keeps its counter and a blocked card signs no debit: a sale at or below
        the block receipt's counter was made before the block, offline, and is paid like any
        sale made before the terminal could know (the hotlist rule)."""
        assert facts.card_number is not None and facts.card_counter is not None
        blocked_at = self.block_counters.get(facts.card_number)
        return blocked_at is not None and facts.card_counter <= blocked_at

    def _status(self, number: str) -> str | None:
        """The card's status as this batch has left it so far."""
        return self.writes.card_status.get(number, self.cards.get(number))

    def _check_sale(self, facts: Facts) -> None:
        number = facts.card_number
        assert number is not None
        version = self.hotlisted.get(number)
        if version is not None and any(v >= version and s < facts.seq for v, s in self.fetches):
            facts.reject(
                "card_hotlisted",
                f"card {number} was on the hotlist this terminal held when it sold",
                stored=True,
            )
            return
        status = self._status(number)
        if status == "cloned" or (status == "blocked" and not self._signed_before_block(facts)):
            facts.reject("card_blocked", f"card {number} is blocked", stored=True)
            return
        if status in ("issuing", "spoiled"):
            facts.reject("card_spoiled", f"card {number} was never issued ({status})", stored=True)
            return
        catalog = self.catalogs(facts.catalog_version)
        if catalog is None:
            facts.reject(
                "catalog_unknown", f"catalog version {facts.catalog_version} unknown", stored=True
            )
            return
        eligible = self.programs.get(number, set())
        for gtin, category, unit_qty, het, paid in facts.lines:
            item = catalog.item(gtin)
            if item is None:
                facts.reject("not_in_catalog", f"item {gtin} is not in the catalog", stored=True)
                return
            if (item.category, item.unit_base_quantity, item.het) != (category, unit_qty, het):
                facts.reject(
                    "catalog_mismatch",
                    f"item {gtin} differs from catalog {catalog.version}",
                    stored=True,
                )
                return
            for code in paid:
                if code not in item.programs or code not in eligible:
                    facts.reject(
                        "purse_not_eligible", f"purse {code} may not pay for {gtin}", stored=True
                    )
                    return
        counted = {category for category, _ in facts.quantities}
        for _, category, _, _, _ in facts.lines:
            cap = catalog.categories.get(category)
            if cap is not None and cap.cap_per_month is not None and category not in counted:
                # Only the card's counter proves the month's total: a sale it did not count
                # could go over the cap unseen.
                facts.reject(
                    "quantity_mismatch",
                    f"category {category} has a monthly cap but the card did not count it",
                    stored=True,
                )
                return
        for category, used in facts.quantities:
            cap = catalog.categories.get(category)
            if cap is not None and cap.cap_per_month is not None and used > cap.cap_per_month:
                facts.reject(
                    "cap_exceeded", f"category {category} over its monthly cap", stored=True
                )
                return
        if not self.time.check_sale(facts):
            if facts.code in _NOT_THIS_CARD:
                self._flag_clone(number)
            return
        self.batch_sales[facts.record_id] = facts

    def _check_void(self, facts: Facts) -> None:
        original = self.originals.get(facts.original_id)
        in_batch = self.batch_sales.get(facts.original_id)
        if original is None and in_batch is None:
            facts.reject("void_unknown_sale", "no such sale of this terminal", stored=True)
            return
        if facts.original_id in self.voided:
            facts.reject("void_twice", "this sale was already voided", stored=True)
            return
        if in_batch is not None:
            sale_card, sale_counter, sale_seq = (
                in_batch.card_number,
                in_batch.card_counter,
                in_batch.seq,
            )
            sale_amounts = _amounts(in_batch.purses)
            sale_ok, sale_terminal = True, self.terminal_id
        else:
            assert original is not None
            sale_card, sale_counter, sale_seq = (
                original.card_number,
                original.card_counter,
                original.seq,
            )
            sale_amounts = _stored_sale_amounts(original)
            sale_ok = original.status == "accepted" and original.type == "sale"
            sale_terminal = original.terminal_id
        same = (
            sale_ok
            and sale_terminal == self.terminal_id
            and sale_seq == facts.original_seq
            and sale_card == facts.card_number
            and sale_counter == facts.original_counter
            and sale_amounts == _amounts(facts.purses)
        )
        if not same:
            facts.reject(
                "void_mismatch",
                "void does not match an accepted sale of this card at this terminal",
                stored=True,
            )
            return
        self.voided.add(facts.original_id)

    def _must_wait(self, facts: Facts) -> bool:
        """A void whose sale is neither here nor in the chain yet: it is still on its way."""
        known = facts.original_id in self.originals or facts.original_id in self.batch_sales
        return not known and facts.original_seq not in self.chain

    def _check_load(self, facts: Facts) -> None:
        assert facts.card_number is not None
        load = self.loads.get((facts.card_number, facts.load_seq))
        if load is None or load.authorization != facts.authorization:
            facts.reject("load_unknown", "no such load was authorized by this host", stored=True)
            return
        if facts.card_number in self.hotlisted and self._superseded(load.id):
            facts.reject(
                "load_superseded",
                f"load {facts.load_seq} was not taken before the card ended: it was carried to"
                " the new card or back to the fund",
                stored=True,
            )
            return
        held = self.catching_up.get(facts.record_id)
        from_log = held is not None and load.applied_record == held[1]
        if (load.applied_record is not None and not from_log) or load.id in self.applied_in_batch:
            # A card never applies one load_seq twice: a second receipt comes from a copy.
            facts.reject("load_replay", f"load {facts.load_seq} was already applied", stored=True)
            self._flag_clone(facts.card_number)
            return
        self.applied_in_batch.add(load.id)
        self.writes.loads_applied.append((load.id, facts.record_id))

    def _superseded(self, load_id: int) -> bool:
        """Whether the load was carried away when its card ended (asked only for a hotlisted
        card: an active card's loads never are)."""
        return self.session.get(LoadSupersession, load_id) is not None

    def _check_pin_unblock(self, facts: Facts) -> None:
        """The card applied an order: it must be one this host signed for this card, and the
        first receipt closes it. The card answers the order it applied last again (a terminal
        that lost the answer, or met the card PIN-blocked again before it synced), with a new
        receipt that changes nothing on the card: accepted, the order stays as it was closed.
        The very receipt that closed it, in another record, is a replay."""
        number, seq = facts.card_number, facts.unblock_seq
        assert number is not None
        row = self.unblocks.get((number, seq))
        if row is None or row.order != facts.unblock_order:
            facts.reject(
                "unblock_unknown",
                f"PIN-unblock order {seq} of card {number} was not issued by this host",
                stored=True,
            )
            return
        closed_with = self.unblocked_in_batch.get((number, seq), row.receipt)
        if closed_with == facts.card_receipt:
            facts.reject(
                "unblock_replayed",
                f"this receipt already closed PIN-unblock order {seq} of card {number}",
                stored=True,
            )
            return
        if closed_with is None:
            self.unblocked_in_batch[(number, seq)] = facts.card_receipt
            self.writes.unblocks_applied.append(
                Applied(number, seq, self.terminal_id, facts.card_receipt, facts.record_id)
            )

    # --- collecting writes ---------------------------------------------------------------

    def _event(self, facts: Facts, code: str, message: str) -> None:
        self.writes.events.append(
            EventRow(code, message, self.terminal_id, facts.record_id, facts.card_number)
        )

    def _store(self, facts: Facts, data: bytes, in_chain: bool) -> None:
        if facts.ok and facts.type == "sale":
            self.writes.sales += 1
        elif facts.ok and facts.type == "void":
            self.writes.voids += 1
        self.writes.records.append(
            {
                "id": facts.record_id,
                "terminal_id": self.terminal_id,
                "seq": facts.seq,
                "type": facts.type,
                "content_hash": facts.hash,
                "prev_hash": facts.prev_hash,
                "data": data,
                "terminal_time": facts.time,
                "received_at": self.received_at,
                "status": "accepted" if facts.ok else "rejected",
                "code": facts.code,
                "message": facts.message,
                "in_chain": in_chain,
                "card_number": facts.card_number,
                "card_counter": facts.card_counter,
                "voids_record": facts.original_id if facts.type == "void" and facts.ok else None,
            }
        )


def _amounts(purses: tuple[tuple[str, int, int], ...]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for code, amount, _ in purses:
        totals[code] = totals.get(code, 0) + amount
    return totals


def _stored_sale_amounts(original: StoredRecord) -> dict[str, int]:
    if original.type != "sale":
        return {}
    body = SaleBody.from_value(Record.decode(original.data).body)
    proof = DebitProof.decode(body.card_proof)
    return _amounts(tuple((p.code, p.amount, p.balance_after) for p in proof.purses))
