"""Time the host can trust, for ingest (docs/card-protocol.md "Time", docs/api.md result codes).

A card proof's time is the terminal's claim: the card signs whatever time the terminal sends. The
host holds it against what it knows for sure: its own receive time, the card's accepted earlier
counters, and the dates the issuer itself gave the card (the loads applied before). Card and
purse expiry are judged on the proof time held into the receive window, so a clock set back
gains at most the window; a quantity period must be the proof time's month and not after the
receive month, so a clock set forward cannot open next month's cap today.

A genuine card debit is evidence that the money left the card: such a sale is held (suspense,
never the shop). The one proof no genuine card can sign, a debit dated before a date the issuer
had already given the card, is refused as a copy's.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from host_gateway import distribution
from host_gateway.fastsql import Raw
from host_gateway.ingest.verification import Facts
from ledger.binary import FormatError, encode_period
from ledger.cardproofs import LoadAuthorization, PinUnblockOrder, PinUnblockReceipt
from ledger.documents import DocumentError, SignedDocument
from ledger.verify import WITA, business_date
from ledger.wire import CONFIG_KIND

FUTURE_SLACK = 600
"""Seconds a proof may be ahead of the host's receive time (clock drift) before it is held."""
PAST_MARGIN = 24 * 3_600
"""Seconds a proof may be older than the configured offline hours allow: a sale made at the end
of the offline window reaches the host some time after the network comes back."""
BACKWARDS_TOLERANCE = 1_800
"""Seconds a proof may predate the card's accepted lower counter: two terminals' clocks, each
within the slack of the host's, may be this far apart."""


@dataclass(frozen=True)
class Window:
    """The times a proof received at ``received`` can honestly carry."""

    received: int
    offline: int
    """Seconds before ``received``: the configured offline hours plus PAST_MARGIN."""

    @property
    def earliest(self) -> int:
        return self.received - self.offline

    @property
    def latest(self) -> int:
        return self.received + FUTURE_SLACK

    def clamp(self, time: int) -> int:
        """The proof time held into the window: what expiry is judged on, so a clock set back
        further than the window buys nothing."""
        return min(max(time, self.earliest), self.latest)


class OfflineHours:
    """``risk.max_offline_hours`` of the newest config document, parsed once per version."""

    DEFAULT = int(distribution.DEFAULT_CONFIG["risk"]["max_offline_hours"])

    def __init__(self, authority_keys: Mapping[bytes, bytes]) -> None:
        self._authority_keys = authority_keys
        self._hours: dict[int, int] = {}
        self._lock = threading.Lock()

    def window(self, session: Session, received: int) -> Window:
        return Window(received, self.hours(session) * 3_600 + PAST_MARGIN)

    def hours(self, session: Session) -> int:
        version = distribution.latest_version(session, CONFIG_KIND)
        with self._lock:
            known = self._hours.get(version)
        if known is not None:
            return known
        hours = self.DEFAULT
        latest = distribution.latest_document(session, CONFIG_KIND)
        if latest is not None:
            try:
                content = SignedDocument.decode_verified(
                    latest[1], CONFIG_KIND, self._authority_keys
                ).content
                hours = int(content["risk"]["max_offline_hours"])
            except (DocumentError, KeyError, TypeError, ValueError):
                pass  # publish_config checks every document: this is the default's fallback
        with self._lock:
            self._hours[version] = hours
        return hours


@dataclass
class _Load:
    purse: str
    expiry: dt.date
    issued: dt.date
    counter: int | None
    """The card counter the load was applied at (None while no accepted receipt names it)."""


@functools.lru_cache(maxsize=65_536)
def _issued(authorization: bytes) -> dt.date:
    """The issue date of a load authorization, decoded once per process (every batch asks
    again for every load of its cards; an authorization never changes)."""
    return LoadAuthorization.decode(authorization).issued


def _date(value: object) -> dt.date:
    """A DATE column as the driver gives it (SQLite: ISO text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _wita(time: int) -> str:
    try:
        return dt.datetime.fromtimestamp(time, WITA).strftime("%Y-%m-%d %H:%M WITA")
    except (OverflowError, OSError, ValueError):
        return str(time)


def _month(time: int) -> int | None:
    try:
        return encode_period(business_date(time))
    except (FormatError, OverflowError, OSError, ValueError):
        return None


_NEAREST = (
    "{cte}, n AS MATERIALIZED (SELECT p.card, p.counter, (SELECT ct.counter"
    " FROM card_transactions ct WHERE ct.card_number = p.card AND ct.counter < p.counter"
    " {accepted} ORDER BY ct.counter DESC LIMIT 1) AS lower FROM p)"
    " SELECT n.card, n.counter, n.lower, CASE WHEN r.terminal_time > r.received_at + {slack}"
    " THEN r.received_at + {slack} ELSE r.terminal_time END, r.status FROM n"
    " JOIN card_transactions ct ON ct.card_number = n.card AND ct.counter = n.lower"
    " JOIN records r ON r.id = ct.record_id AND r.card_number = ct.card_number"
    " AND r.card_counter = ct.counter"
)
"""Per (card, counter): the nearest lower counter the host holds, with its record's time (no
later than the host can trust: its receipt and the slack) and status. ``n`` is materialized:
inlined, the database would look the counter up twice."""
_ONLY_ACCEPTED = (
    "AND EXISTS (SELECT 1 FROM records a WHERE a.id = ct.record_id"
    " AND a.card_number = ct.card_number AND a.card_counter = ct.counter"
    " AND a.status = 'accepted')"
)


class CardTimeline:
    """What the time rules know of the batch's cards, fetched in three queries, and the rules.

    Built under the ingest lock with the batch's sales; records accepted in the batch are added
    as they are decided (:meth:`note_accepted`), so a later sale sees them."""

    def __init__(self, session: Session, batch: list[Facts], window: Window) -> None:
        self.window = window
        self._received_month = _month(window.latest)
        self._previous: dict[tuple[str, int], tuple[int, int]] = {}
        self._loads: dict[str, dict[int, _Load]] = {}
        self._older: dict[tuple[str, str], dt.date] = {}
        self._accepted: dict[str, list[tuple[int, int]]] = {}
        self._unblocks: dict[str, list[tuple[int, dt.date]]] = {}
        """Per card: (counter, issued) of each PIN-unblock order it applied (it keeps the
        counter: debits after it are at higher counters)."""
        sales = [
            f
            for f in batch
            if f.ok and f.type == "sale" and f.card_number and f.card_counter is not None
        ]
        if sales:
            raw = Raw(session)
            cards = sorted({f.card_number for f in sales if f.card_number})
            self._fetch_previous(raw, sales)
            self._fetch_loads(raw, sales, cards)
            self._fetch_unblocks(raw, cards)

    def _fetch_previous(self, raw: Raw, sales: list[Facts]) -> None:
        """The nearest accepted lower counter of each sale's card: the nearest one the host
        holds first (an index step each), then, for the few whose nearest was held, the
        nearest accepted one."""
        pairs = sorted(
            {
                (f.card_number, f.card_counter)
                for f in sales
                if f.card_number is not None and f.card_counter is not None
            }
        )
        for accepted in ("", _ONLY_ACCEPTED):
            cte, params = raw.pairs_table("p", ("card", "counter"), pairs, ("text", "bigint"))
            again = []
            query = _NEAREST.format(cte=cte, accepted=accepted, slack=FUTURE_SLACK)
            for card, counter, lower, time, status in raw.rows(query, params):
                if status == "accepted":
                    self._previous[(card, int(counter))] = (int(lower), int(time))
                else:
                    again.append((card, int(counter)))
            if not again:
                return
            pairs = again

    def _fetch_loads(self, raw: Raw, sales: list[Facts], cards: list[str]) -> None:
        """Loads of the batch's cards that end on or after the batch's earliest date, with the
        counter each was applied at; of older loads only the latest expiry per purse (they end
        before any sale here is judged, so only "there was one, it ended" matters)."""
        # The date is monotonic in the time: the earliest date is the earliest time's.
        clamp = self.window.clamp
        earliest = business_date(min(min(f.proof_time, clamp(f.proof_time)) for f in sales))
        since: object = earliest if raw.postgres else earliest.isoformat()
        condition, params = raw.any_of("l.card_number", cards, "text")
        rows = raw.rows(
            "SELECT l.card_number, l.load_seq, l.purse_code, l.expiry, l.authorization,"
            " r.card_counter FROM loads l LEFT JOIN records r ON r.id = l.applied_record"
            " AND r.card_number = l.card_number AND r.type = 'load' AND r.status = 'accepted'"
            f" WHERE {condition} AND l.expiry >= ?",
            [*params, since],
        )
        for card, load_seq, purse, expiry, authorization, counter in rows:
            issued = _issued(bytes(authorization))
            applied = None if counter is None else int(counter)
            self._loads.setdefault(card, {})[int(load_seq)] = _Load(
                purse, _date(expiry), issued, applied
            )
        condition, params = raw.any_of("card_number", cards, "text")
        for card, purse, expiry in raw.rows(
            "SELECT card_number, purse_code, max(expiry) FROM loads"
            f" WHERE {condition} AND expiry < ? GROUP BY card_number, purse_code",
            [*params, since],
        ):
            self._older[(card, purse)] = _date(expiry)

    def _fetch_unblocks(self, raw: Raw, cards: list[str]) -> None:
        """The PIN-unblock orders the batch's cards applied (closed by the card's receipt): an
        issuer date the card moved its trusted date to, like a load's."""
        condition, params = raw.any_of("card_number", cards, "text")
        for card, order, receipt in raw.rows(
            'SELECT card_number, "order", receipt FROM pin_unblocks'
            f" WHERE {condition} AND receipt IS NOT NULL",
            params,
        ):
            self._note_unblock(card, PinUnblockReceipt.decode(bytes(receipt)).counter, order)

    def _note_unblock(self, number: str, counter: int, order: bytes) -> None:
        issued = PinUnblockOrder.decode(bytes(order)).issued
        self._unblocks.setdefault(number, []).append((counter, issued))

    # --- what the card's history says -------------------------------------------------------

    def note_accepted(self, facts: Facts) -> None:
        """A record of the batch was accepted: its counter and time now bound later ones."""
        number, counter = facts.card_number, facts.card_counter
        if number is not None and counter is not None and facts.type == "pin_unblock":
            self._note_unblock(number, counter, facts.unblock_order)
        if number is None or counter is None or facts.type in ("block", "pin_unblock"):
            return
        # A time after the host received it is a claim the host cannot trust (a load relayed
        # under a clock set ahead is accepted): it bounds later proofs only up to the receipt.
        self._accepted.setdefault(number, []).append((counter, min(facts.time, self.window.latest)))
        if facts.type == "load":
            authorization = LoadAuthorization.decode(facts.authorization)
            self._loads.setdefault(number, {})[authorization.load_seq] = _Load(
                authorization.purse_code, authorization.expiry, authorization.issued, counter
            )

    def _previous_time(self, number: str, counter: int) -> tuple[int, int] | None:
        """(counter, time) of the nearest accepted lower counter of the card."""
        best = self._previous.get((number, counter))
        for lower, time in self._accepted.get(number, ()):
            if lower < counter and (best is None or lower > best[0]):
                best = (lower, time)
        return best

    def _trusted_date(self, number: str, counter: int) -> dt.date | None:
        """The latest issuer date the card had seen below this counter (a load or a PIN-unblock
        order it applied)."""
        issued = [
            load.issued
            for load in self._loads.get(number, {}).values()
            if load.counter is not None and load.counter < counter
        ]
        issued += [day for at, day in self._unblocks.get(number, ()) if at < counter]
        return max(issued, default=None)

    def _purse_expiry(self, number: str, purse: str, counter: int, day: dt.date) -> dt.date | None:
        """The latest expiry the purse can have had at this counter: the latest among the loads
        the host issued for it that the card can have applied before, those applied at a lower
        counter and those not yet reported but issued no later than the debit's date (a load
        applied earlier would have moved the card's trusted date past it). None: the host issued
        no load for this purse, there is nothing to judge by."""
        candidates = [
            load.expiry
            for load in self._loads.get(number, {}).values()
            if load.purse == purse
            and load.issued <= day
            and (load.counter is None or load.counter < counter)
        ]
        return max(candidates, default=self._older.get((number, purse)))

    # --- the rules --------------------------------------------------------------------------

    def card_valid(self, facts: Facts) -> bool:
        """The card certificate's end date, judged on the proof time held into the window."""
        until = facts.card_valid_until
        judged = business_date(self.window.clamp(facts.proof_time))
        if until is None or judged <= until:
            return True
        facts.reject(
            "card_expired",
            f"card certificate expired {until}; judged on {judged}"
            f" (proof time {_wita(facts.proof_time)}, received {_wita(self.window.received)})",
            stored=True,
        )
        return False

    def check_sale(self, facts: Facts) -> bool:
        """The time rules of a sale, in order; the first that fails names the refusal."""
        number, counter = facts.card_number, facts.card_counter
        assert number is not None and counter is not None
        day = business_date(facts.proof_time)
        trusted = self._trusted_date(number, counter)
        if trusted is not None and day < trusted:
            facts.reject(
                "proof_before_trusted_date",
                f"debit dated {day} at counter {counter}, after the card had applied an issuer"
                f" order (a load or a PIN unblock) dated {trusted}: a genuine card refuses such"
                " a debit, this is a copy's",
                stored=True,
            )
            return False
        return (
            self.card_valid(facts)
            and self._purses_valid(facts, day)
            and self._periods_valid(facts)
            and self._in_window(facts)
            and self._not_backwards(facts)
        )

    def _purses_valid(self, facts: Facts, day: dt.date) -> bool:
        assert facts.card_number is not None and facts.card_counter is not None
        judged = business_date(self.window.clamp(facts.proof_time))
        for code, _, _ in facts.purses:
            expiry = self._purse_expiry(facts.card_number, code, facts.card_counter, day)
            if expiry is not None and judged > expiry:
                facts.reject(
                    "purse_expired",
                    f"purse {code} expired {expiry} by the loads this host issued; judged on"
                    f" {judged} (proof time {_wita(facts.proof_time)},"
                    f" received {_wita(self.window.received)})",
                    stored=True,
                )
                return False
        return True

    def _periods_valid(self, facts: Facts) -> bool:
        month = _month(facts.proof_time)
        received_month = self._received_month
        for period in facts.periods:
            if period != month:
                facts.reject(
                    "quantity_period_mismatch",
                    f"quantity counted in period {period:04d}, but the proof time"
                    f" {_wita(facts.proof_time)} is in another month",
                    stored=True,
                )
                return False
            if received_month is not None and period > received_month:
                facts.reject(
                    "quantity_period_future",
                    f"quantity counted in period {period:04d}, after the month the host"
                    f" received it ({_wita(self.window.received)}): a clock set forward",
                    stored=True,
                )
                return False
        return True

    def _in_window(self, facts: Facts) -> bool:
        if facts.proof_time > self.window.latest:
            facts.reject(
                "proof_time_future",
                f"proof time {_wita(facts.proof_time)} is after the host received it"
                f" ({_wita(self.window.received)})",
                stored=True,
            )
            return False
        if facts.proof_time < self.window.earliest:
            facts.reject(
                "proof_time_stale",
                f"proof time {_wita(facts.proof_time)} is older than the offline window"
                f" before the host received it ({_wita(self.window.received)})",
                stored=True,
            )
            return False
        return True

    def _not_backwards(self, facts: Facts) -> bool:
        assert facts.card_number is not None and facts.card_counter is not None
        previous = self._previous_time(facts.card_number, facts.card_counter)
        if previous is None or facts.proof_time >= previous[1] - BACKWARDS_TOLERANCE:
            return True
        facts.reject(
            "proof_time_backwards",
            f"proof time {_wita(facts.proof_time)} at counter {facts.card_counter} is before"
            f" the card's counter {previous[0]} ({_wita(previous[1])})",
            stored=True,
        )
        return False
