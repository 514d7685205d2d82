"""The terminal's sync client: upload the outbox, download what the host distributes.

Upload: records the host has not acknowledged, in sequence order, in batches, over signed
requests (ledger.request_auth), pipelined so the terminal's bookkeeping overlaps the host's
work. A record leaves the outbox only when the host answers that it holds it (``stored``),
accepted or rejected; nothing else is ever dropped. Transport errors and 5xx are retried with
exponential backoff and jitter (every retry is a new signed request; the host's idempotency makes
the resend harmless). Download: catalog, config, hotlist delta and loads, each verified against
the issuer authority keys before it is stored (terminal.documents). docs/api.md describes the
protocol; every body is a model of ledger.wire, the host's own, so an answer that does not
follow the contract is one SyncError (``bad_answer``) before anything is stored.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ledger.cardproofs import LoadAuthorization
from ledger.documents import DocumentError, SignedDocument
from ledger.request_auth import b64decode
from ledger.wire import (
    CATALOG_KIND,
    CONFIG_KIND,
    HOTLIST_KIND,
    LOADS_KIND,
    IngestResponse,
    LoadsBody,
)
from terminal import documents
from terminal.gateway_client import GatewayClient, SyncError, card_lookup, enroll
from terminal.host_requests import (
    resolutions,
    store_resolutions,
    store_wanted,
)
from terminal.journal import IntentKind, IntentStatus, Journal, JournalError

BATCH = 500
EVIDENCE_BATCH = 64
"""Card messages per evidence upload (the host takes at most 64)."""
INTENTS_BATCH = 100
IN_FLIGHT = 2
"""Upload requests at the host at once: it verifies one batch while it writes the other."""


@dataclass
class SyncReport:
    uploaded: int = 0
    acknowledged: int = 0
    accepted: int = 0
    rejected: int = 0
    conflicts: int = 0
    deferred: int = 0
    outbox: int = 0
    host_time: int | None = None
    clock_skew: int | None = None
    documents: dict[str, int] = field(default_factory=dict)
    pending_loads: int = 0
    evidence_uploaded: int = 0
    stuck_intents_reported: int = 0
    wanted_counters: int = 0
    resolutions: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Syncer:
    """One terminal's sync: :meth:`run_once` is a cycle; :meth:`start` runs cycles in the
    background until :meth:`stop`."""

    def __init__(
        self,
        journal: Journal,
        client: GatewayClient,
        authority_keys: dict[bytes, bytes],
        *,
        batch: int = BATCH,
        in_flight: int = IN_FLIGHT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal, self.client, self.authority_keys = journal, client, authority_keys
        self.batch, self.in_flight, self.clock = batch, max(1, in_flight), clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> SyncReport:
        report = SyncReport()
        try:
            self._upload(report)
            self._upload_evidence(report)
            self._report_stuck_intents(report)
            self._download(report)
        except SyncError as exc:
            report.error = f"{exc.code}: {exc}"
        except (JournalError, ValueError) as exc:
            # An answer the journal cannot take (an unknown id acknowledged, a result without
            # an id): what was acknowledged so far stays acknowledged, the rest stays in the
            # outbox, and the cycle reports it instead of ending the background thread.
            report.error = f"bad_answer: the host's answer cannot be used: {exc}"
        report.outbox = self.journal.counts().outbox
        report.host_time = self.client.host_time
        if report.host_time is not None:
            report.clock_skew = int(self.clock()) - report.host_time
        if report.ok and report.outbox == 0 and report.host_time is not None:
            self.journal.mark_synced(report.host_time)
        return report

    def _upload(self, report: SyncReport) -> None:
        deferred = self._upload_pass(report, self.in_flight)
        if deferred and self.in_flight > 1:
            # With two batches in flight a void can reach the host before the sale it voids;
            # now that everything before it is there, the rest goes once more, in order.
            deferred = self._upload_pass(report, 1)
        report.deferred = len(deferred)
        report.problems.extend(deferred)

    def _upload_pass(self, report: SyncReport, window: int) -> list[str]:
        """Upload batch after batch with up to ``window`` requests at the host at once (it
        verifies one while it writes the other); a helper thread records each answer in the
        journal. Returns the problems of deferred records, which stay in the outbox."""
        deferred: list[str] = []
        with (
            ThreadPoolExecutor(window, thread_name_prefix="ssn-upload") as senders,
            ThreadPoolExecutor(1, thread_name_prefix="ssn-outbox") as helper,
        ):
            in_flight: deque[Future[IngestResponse]] = deque()
            acked: Future[int] | None = None
            records = self.journal.outgoing(self.batch)
            try:
                while records or in_flight:
                    while records and len(in_flight) < window:
                        in_flight.append(senders.submit(self.client.upload, records))
                        report.uploaded += len(records)
                        records = self.journal.outgoing(self.batch, after_seq=records[-1].seq)
                    answer = in_flight.popleft().result()
                    ids, outcomes = self._tally(answer, report, deferred)
                    if acked is not None:
                        report.acknowledged += acked.result()
                    acked = helper.submit(
                        self.journal.acknowledge, ids, outcomes, time=int(self.clock())
                    )
                    if not ids:
                        records = []  # nothing this round was taken: the rest waits
            finally:
                for future in in_flight:
                    future.cancel()
                if acked is not None:
                    report.acknowledged += acked.result()
        return deferred

    def _upload_evidence(self, report: SyncReport) -> None:
        """Card-log entries read for the host; each leaves the queue once the host decided."""
        while pending := self.journal.pending_evidence(EVIDENCE_BATCH):
            results = self.client.evidence([message for _, message in pending]).results
            if len(results) != len(pending):
                raise SyncError(
                    "the host answered another number of evidence results", "bad_answer"
                )
            decided = [
                (entry_id, str(result.result))
                for (entry_id, _), result in zip(pending, results, strict=True)
            ]
            self.journal.mark_evidence_sent(decided, int(self.clock()))
            report.evidence_uploaded += len(decided)
            if len(decided) < len(pending):
                break  # the rest goes next cycle

    def _report_stuck_intents(self, report: SyncReport) -> None:
        """Stuck intents go to the host (it may hold the card's word on them); those it
        answered and this terminal has settled since are closed, so it stops answering."""
        stuck = [
            i
            for i in self.journal.open_intents()
            if i.status is IntentStatus.UNRESOLVED
            and i.kind not in (IntentKind.BLOCK, IntentKind.PIN_UNBLOCK)
        ]
        closed = []
        for intent_id in resolutions(self.journal):
            intent = self.journal.intent(intent_id)
            if intent is None or intent.status.finished:
                closed.append(intent_id)
        if stuck or closed:
            self.client.report_intents(stuck[:INTENTS_BATCH], closed[:INTENTS_BATCH])
            report.stuck_intents_reported = len(stuck)

    @staticmethod
    def _tally(
        answer: IngestResponse, report: SyncReport, deferred: list[str]
    ) -> tuple[list[uuid.UUID], list[str]]:
        ids, outcomes = [], []
        for result in answer.results:
            status = result.status
            report.accepted += status == "accepted"
            report.rejected += status == "rejected"
            report.conflicts += status == "conflict"
            if result.stored:
                ids.append(uuid.UUID(result.id))
                outcomes.append(f"{status}:{result.code}")
            elif status == "conflict":
                report.problems.append(f"{result.id}: {status} {result.message}")
            elif status == "deferred":
                deferred.append(f"{result.id}: {status} {result.message}")
        return ids, outcomes

    def _download(self, report: SyncReport) -> None:
        held = {
            CATALOG_KIND: _version(self.journal, CATALOG_KIND),
            CONFIG_KIND: _version(self.journal, CONFIG_KIND),
            HOTLIST_KIND: documents.current_hotlist(self.journal).version,
            LOADS_KIND: _version(self.journal, LOADS_KIND),
        }
        last = self.journal.last_record()
        answer = self.client.updates(held, last.seq if last else 0)
        now = int(self.clock())
        try:
            if answer.catalog is not None:
                data = b64decode(answer.catalog.document)
                report.documents[CATALOG_KIND] = documents.install_catalog(
                    self.journal, self.authority_keys, data, now
                ).version
            if answer.config is not None:
                data = b64decode(answer.config.document)
                config = SignedDocument.decode_verified(
                    data, CONFIG_KIND, self.authority_keys, newer_than=held[CONFIG_KIND]
                )
                self.journal.put_document(CONFIG_KIND, config.version, data, time=now)
                report.documents[CONFIG_KIND] = config.version
            if answer.hotlist.document:
                merged = documents.apply_hotlist_delta(
                    self.journal, self.authority_keys, b64decode(answer.hotlist.document), now
                )
                report.documents[HOTLIST_KIND] = merged.version
            report.pending_loads = self._loads(answer.loads, held[LOADS_KIND], now)
            report.wanted_counters = store_wanted(
                self.journal, [row.model_dump() for row in answer.wanted], now
            )
            rows = [
                row.model_dump()
                | ({"card_message": b64decode(row.card_message)} if row.card_message else {})
                for row in answer.resolutions
            ]
            report.resolutions = store_resolutions(self.journal, rows, now)
            orders = [b64decode(raw) for raw in answer.pin_unblocks]
            documents.store_pin_unblocks(self.journal, self.authority_keys, orders, now)
        except (DocumentError, ValueError) as exc:
            raise SyncError(f"download refused: {exc}", "bad_document") from exc

    def _loads(self, loads: LoadsBody, held_version: int, now: int) -> int:
        current = documents.pending_loads(self.journal)
        if loads.version <= held_version:
            return len(current)
        done = {(row.card_number, row.load_seq) for row in loads.applied}
        keep: dict[tuple[str, int], bytes] = {
            (a.card_number, a.load_seq): a.encode()
            for a in current
            if (a.card_number, a.load_seq) not in done
        }
        for row in loads.pending:
            if row.authorization is None:
                raise SyncError(
                    f"pending load {row.load_seq} without its authorization", "bad_document"
                )
            raw = b64decode(row.authorization)
            auth = LoadAuthorization.decode(raw)
            keep[(auth.card_number, auth.load_seq)] = raw
        stored = documents.store_pending_loads(
            self.journal, self.authority_keys, loads.version, list(keep.values()), now
        )
        return len(stored)

    def start(
        self, interval: float = 60.0, on_report: Callable[[SyncReport], None] | None = None
    ) -> None:
        """Run cycles in a background thread every ``interval`` seconds until :meth:`stop`."""

        def loop() -> None:
            while not self._stop.is_set():
                report = self.run_once()
                if on_report is not None:
                    on_report(report)
                self._stop.wait(interval)

        self._stop.clear()
        self.client.backoff = dataclasses.replace(self.client.backoff, sleep=self._wait_or_stop)
        self._thread = threading.Thread(target=loop, name="ssn-sync", daemon=True)
        self._thread.start()

    def _wait_or_stop(self, seconds: float) -> None:
        """The client's wait between retries, in the background: :meth:`stop` ends it and the
        cycle at once (the cashier closing the app does not wait out retries of a host that
        cannot be reached); the outbox is intact, the next start goes on."""
        if self._stop.wait(seconds):
            raise SyncError("the terminal is closing: sync stopped", "stopped")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def _version(journal: Journal, name: str) -> int:
    stored = journal.document(name)
    return stored.version if stored else 0


__all__ = [
    "BATCH",
    "GatewayClient",
    "SyncError",
    "SyncReport",
    "Syncer",
    "card_lookup",
    "enroll",
]
