"""The till: everything a card operation needs besides the card, and the two steps every
operation shares: the write-ahead intent before the card is touched, and the one commit that
turns the card's signed answer into a record with its receipts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from drivers.card.errors import CardRefused, CardSessionError
from drivers.card.protocol import CardInfo
from drivers.card.transport import OUTCOME_UNKNOWN, CardError
from ledger.cardproofs import LoadAuthorization, PinUnblockOrder, Signed
from ledger.catalog import Catalog
from ledger.ids import new_id
from ledger.record import Record
from ledger.verify import business_date
from ledger.wire import CATALOG_KIND, CONFIG_KIND, HOTLIST_KIND, LOADS_KIND
from terminal import crashpoints
from terminal.config import RiskLimits, TerminalConfig
from terminal.documents import (
    PIN_UNBLOCKS_DOCUMENT,
    HostConfig,
    Hotlist,
    current_catalog,
    current_host_config,
    current_hotlist,
    pending_loads,
    pending_pin_unblocks,
)
from terminal.host_requests import (
    RESOLUTIONS_DOCUMENT,
    WANTED_DOCUMENT,
    AskHost,
    HostCard,
    HostResolution,
    all_wanted,
    resolutions,
)
from terminal.journal import Intent, IntentKind, IntentStateError, Journal
from terminal.messages import message
from terminal.receipts.config import PurseInfo, ReceiptConfig, ReceiptContext
from terminal.receipts.jobs import JobKind
from terminal.receipts.model import Language, ShopInfo
from terminal.sale.outcome import Outcome
from terminal.sale.ports import ForegroundPrinter, ReceiptComposer, escpos_composer
from terminal.sale.risk import is_offline

PROOF_FIELD: Mapping[IntentKind, str] = {
    IntentKind.SALE: "card_proof",
    IntentKind.VOID: "card_proof",
    IntentKind.LOAD: "card_receipt",
    IntentKind.BLOCK: "card_receipt",
    IntentKind.PIN_UNBLOCK: "card_receipt",
}
"""Where the card's signed answer goes in each kind of record body."""


_T = TypeVar("_T")
_A = TypeVar("_A", bound=Signed)
MIN_PRINT_SECONDS = 1.0
"""Even an operation that used its whole bound at the card gets this long to try its paper."""


class CardBusy(Exception):  # noqa: N818 - a state of the card at this terminal, not a bug
    """The card has an unfinished operation at this terminal: it must be settled first."""


@dataclass(frozen=True)
class CardCommand(Generic[_A]):
    """One value command for the card, as the till writes it ahead, sends it and records it."""

    kind: IntentKind
    card_number: str
    expected_counter: int
    """The card counter the transaction will carry (a block keeps the counter)."""
    nonce: bytes
    request: bytes
    draft: Mapping[str, Any]
    """The record body without the card's answer."""
    send: Callable[[], _A]
    what: str
    """For the cashier and the journal: "debit", "void", "load", "block order"."""


class Done(NamedTuple, Generic[_A]):
    """A command the card applied, and its committed record."""

    answer: _A
    record: Record
    intent_id: uuid.UUID


class CardCommandError(Exception):
    """The card command sent after an intent gave no usable answer. The intent is already
    settled: unresolved when the card may have applied it, aborted when the card refused."""

    def __init__(self, unresolved: bool, cause: CardError, intent: Intent) -> None:
        super().__init__(str(cause))
        self.unresolved = unresolved
        self.cause = cause
        self.intent = intent


def _wall_clock() -> int:
    return int(time.time())


@dataclass
class Till:
    config: TerminalConfig
    journal: Journal
    clock: Callable[[], int] = _wall_clock
    print_queue: ForegroundPrinter | None = None
    receipt_config: ReceiptConfig = field(default_factory=ReceiptConfig)
    composer: ReceiptComposer = field(default_factory=escpos_composer)
    purse_labels: Mapping[str, str] = field(default_factory=dict)
    shelf_prices: Mapping[str, int] = field(default_factory=dict)
    random_bytes: Callable[[int], bytes] = os.urandom
    ask_host: AskHost | None = None
    """Asked once per presented card while the terminal is online (its loads, what the host is
    missing of it); None: the terminal works from what its last sync left."""
    _documents: dict[str, tuple[int, Any]] = field(default_factory=dict, init=False, repr=False)
    _versions: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _versions_checked: bool = field(default=False, init=False, repr=False)
    _operation_started: float | None = field(default=None, init=False, repr=False)

    @property
    def terminal_id(self) -> str:
        return self.config.terminal_id

    @property
    def language(self) -> str:
        return self.config.receipt_language

    def wanted_counters(self, card_number: str) -> tuple[int, ...]:
        """The counters of this card the host asked for at the last sync."""
        wanted: dict[str, tuple[int, ...]] = self._cached(
            WANTED_DOCUMENT, lambda: all_wanted(self.journal)
        )
        return wanted.get(card_number, ())

    def host_resolutions(self) -> dict[uuid.UUID, HostResolution]:
        """The host's answers on this terminal's stuck intents, as the last sync left them."""
        found: dict[uuid.UUID, HostResolution] = self._cached(
            RESOLUTIONS_DOCUMENT, lambda: resolutions(self.journal)
        )
        return found

    def host_config(self) -> HostConfig | None:
        """The host's config document as the last sync stored it: whatever process synced
        (the sync command, the app's background syncer), the next operation follows it."""
        config: HostConfig | None = self._cached(
            CONFIG_KIND, lambda: current_host_config(self.journal, self.config.authority_keys)
        )
        return config

    @property
    def limits(self) -> RiskLimits:
        """Offline risk limits: the host's config document's, the enrollment's before any."""
        host = self.host_config()
        return host.risk if host else self.config.risk

    @property
    def split_tender(self) -> bool:
        host = self.host_config()
        return host.split_tender if host else self.config.split_tender

    def say(self, code: str, **values: object) -> str:
        return message(code, self.language, **values)

    def today(self, now: int) -> dt.date:
        return business_date(now)

    def catalog(self) -> Catalog | None:
        catalog: Catalog | None = self._cached(
            CATALOG_KIND, lambda: current_catalog(self.journal, self.config.authority_keys)
        )
        return catalog

    def hotlist(self) -> Hotlist:
        hotlist: Hotlist = self._cached(HOTLIST_KIND, lambda: current_hotlist(self.journal))
        return hotlist

    def pending_loads(self) -> list[LoadAuthorization]:
        loads: list[LoadAuthorization] = self._cached(
            LOADS_KIND, lambda: pending_loads(self.journal)
        )
        return loads

    def pending_pin_unblocks(self) -> list[PinUnblockOrder]:
        orders: list[PinUnblockOrder] = self._cached(
            PIN_UNBLOCKS_DOCUMENT, lambda: pending_pin_unblocks(self.journal)
        )
        return orders

    def _cached(self, name: str, load: Callable[[], Any]) -> Any:
        """A document as parsed, re-read only when the journal holds a new version of it
        (a sync in another process may have stored one)."""
        if not self._versions_checked:
            self._versions = self.journal.document_versions()
            self._versions_checked = True
        version = self._versions.get(name, 0)
        cached = self._documents.get(name)
        if cached is None or cached[0] != version:
            cached = (version, load())
            self._documents[name] = cached
        return cached[1]

    def refresh(self) -> None:
        """Start of an operation: look again at which document versions the journal holds, and
        start the clock the foreground printing bound counts from."""
        self._versions_checked = False
        self._operation_started = time.monotonic()

    def print_seconds_left(self) -> float | None:
        """What is left of the foreground bound for this operation's receipts: the bound holds
        for the whole operation at the counter (card, PIN, debit, paper), not for the paper
        alone. None before any operation started (the queue's own bound)."""
        if self._operation_started is None or self.print_queue is None:
            return None
        spent = time.monotonic() - self._operation_started
        return max(MIN_PRINT_SECONDS, self.print_queue.foreground_seconds - spent)

    def offline(self, now: int) -> bool:
        return is_offline(self.journal.offline_state(), now)

    def host_view(self, card_number: str, counter: int, now: int) -> HostCard:
        """What the host says of this card (at ``counter``), when online; never blocks an
        offline sale."""
        if self.ask_host is None or self.offline(now):
            return HostCard()
        return self.ask_host(card_number, counter) or HostCard()

    # -- the command runner ----------------------------------------------------------------------

    def run(
        self,
        command: CardCommand[_A],
        now: int,
        info: CardInfo | None,
        cashier: str,
        offline: bool | None = None,
    ) -> Done[_A]:
        """Write the command ahead, send it, commit the record with the card's answer.

        Raises :class:`CardBusy` (nothing written, nothing sent) or
        :class:`CardCommandError` (the intent is settled: aborted or unresolved)."""
        try:
            intent = self.begin(
                command.kind,
                command.card_number,
                command.expected_counter,
                command.nonce,
                command.request,
                command.draft,
                now,
            )
        except IntentStateError as exc:
            raise CardBusy(str(exc)) from exc
        answer = self.send(intent, command.send, command.what)
        crashpoints.reached("after-card-answer")
        record = self.complete(intent, answer.encode(), info, cashier, offline)
        return Done(answer, record, intent.id)

    # -- its steps -----------------------------------------------------------------------------

    def begin(
        self,
        kind: IntentKind,
        card_number: str,
        expected_counter: int,
        nonce: bytes,
        request: bytes,
        draft: Mapping[str, Any],
        now: int,
    ) -> Intent:
        """Commit the command before the card sees it (write-ahead)."""
        intent = Intent(
            id=new_id(),
            kind=kind,
            card_number=card_number,
            expected_counter=expected_counter,
            nonce=nonce,
            request=request,
            draft=dict(draft),
            created=now,
        )
        self.journal.begin_intent(intent)
        crashpoints.reached("after-intent")
        return intent

    def send(self, intent: Intent, command: Callable[[], _T], what: str) -> _T:
        """Run the card command of ``intent``; on failure settle the intent and raise
        :class:`CardCommandError`.

        Only a refusal (a status word saying no) or a session misuse caught before sending proves
        that nothing moved: the intent is aborted. Anything else (the card left, the answer was
        garbled or its proof did not verify) may follow a command the card applied: the intent
        stays unresolved until the card's own log settles it (M3)."""
        try:
            return command()
        except OUTCOME_UNKNOWN as exc:
            self.journal.mark_unresolved(intent.id, f"card left before answering the {what}: {exc}")
            raise CardCommandError(True, exc, intent) from exc
        except (CardRefused, CardSessionError) as exc:
            self.journal.abort_intent(intent.id, f"card refused the {what}: {exc}")
            raise CardCommandError(False, exc, intent) from exc
        except CardError as exc:
            self.journal.mark_unresolved(intent.id, f"no usable answer to the {what}: {exc}")
            raise CardCommandError(True, exc, intent) from exc

    def complete(
        self,
        intent: Intent,
        card_answer: bytes,
        info: CardInfo | None,
        cashier: str,
        offline: bool | None = None,
    ) -> Record:
        """One commit: the record with the card's answer, its receipts, the intent closed."""
        body = dict(intent.draft)
        body[PROOF_FIELD[intent.kind]] = card_answer
        if offline is None:
            offline = self.offline(self.clock())
        context = self.receipt_context(info, cashier, offline)

        def compose(record: Record) -> list[tuple[JobKind, bytes]]:
            return self.composer.for_record(record, context)

        record = self.journal.complete_intent(
            intent.id, intent.kind.record_type, body, intent.created, compose
        )
        crashpoints.reached("after-record")
        return record

    def receipt_context(self, info: CardInfo | None, cashier: str, offline: bool) -> ReceiptContext:
        expiries = {p.code: p.expiry for p in info.purses} if info else {}
        codes = set(self.purse_labels) | set(expiries)
        purses = {
            code: PurseInfo(self.purse_labels.get(code, ""), expiries.get(code)) for code in codes
        }
        shop = ShopInfo(self.config.shop_name, self.config.shop_address, self.terminal_id)
        return ReceiptContext(self.receipt_config, shop, purses, cashier, offline)

    def receipt_jobs(self, record_id: uuid.UUID) -> tuple[int, ...]:
        """The print jobs committed with a record, in printing order."""
        return self.journal.job_ids_for_record(record_id)

    def serving(self) -> contextlib.AbstractContextManager[None]:
        """Around an operation done in front of its holder: background printing pauses, so it
        neither takes the holder's receipt nor holds up its printing."""
        if self.print_queue is None:
            return contextlib.nullcontext()
        return self.print_queue.serving()

    def receipts_to_print(self, outcome: Outcome) -> tuple[int, ...]:
        """What :meth:`print_receipts` prints: the receipts of the earlier operations the
        operation settled, then its own."""
        settled = [r.record_id for r in outcome.resolutions if r.record_id is not None]
        jobs = [job for record_id in settled for job in self.receipt_jobs(record_id)]
        return (*jobs, *outcome.receipt_jobs)

    def print_receipts(self, outcome: Outcome) -> Outcome:
        """Print the operation's own receipts in front of its holder, within the foreground
        bound; call it after the outcome is shown. Earlier operations of the same card that
        were settled when it came back (a torn sale finished) print first: their holder is
        the one at the counter. A printer fault is reported, never raised."""
        jobs = self.receipts_to_print(outcome)
        if self.print_queue is None or not jobs:
            return outcome
        report = self.print_queue.print_foreground(jobs, self.print_seconds_left())
        crashpoints.reached("after-print")
        return dataclasses.replace(
            outcome,
            receipt_jobs=jobs,
            printed=len(report.printed) == len(jobs),
            print_message=report.message,
            print_warnings=report.warnings,
        )


def receipt_language(config: TerminalConfig) -> Language:
    return Language(config.receipt_language)
