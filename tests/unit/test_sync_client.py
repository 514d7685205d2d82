"""The terminal's sync client on its own (terminal/sync.py): backoff with jitter, what is retried
and what is not, the background thread, and that nothing leaves the outbox unless the host said
it holds it. A scripted host stands in for the gateway; tests/integration/test_gateway_sync.py
runs the same client against a real gateway process."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import httpx
import pytest

from ledger.crypto import SigningKey
from ledger.documents import SignedDocument
from ledger.record import Record
from ledger.request_auth import b64encode, parse_headers
from ledger.wire import (
    CONFIG_KIND,
    HotlistBody,
    IngestResponse,
    LoadsBody,
    RecordResultBody,
    UpdatesResponse,
)
from terminal.backoff import Backoff
from terminal.gateway_client import gateway_trust
from terminal.journal import Journal
from terminal.sync import GatewayClient, Syncer, SyncError, SyncReport
from tests.fixtures.journal import JournalKit, complete


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=0.2, cap=10.0, rng=random.Random(7))
    for attempt in range(10):
        ceiling = min(10.0, 0.2 * 2**attempt)
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 40  # jittered: terminals that failed together do not retry together
    assert max(backoff.delay(30) for _ in range(50)) <= 10.0


def _client(handler: Any, sleeps: list[float], attempts: int = 4) -> GatewayClient:
    backoff = Backoff(attempts=attempts, base=0.1, cap=1.0, sleep=sleeps.append)
    return GatewayClient(
        "http://gateway.test",
        "SMD-0001",
        SigningKey.generate(),
        backoff=backoff,
        transport=httpx.MockTransport(handler),
    )


def test_transport_errors_and_5xx_are_retried_each_as_a_new_signed_request() -> None:
    nonces: list[str] = []
    script: list[str | int] = ["cut", 503, 500, 200]

    def handler(request: httpx.Request) -> httpx.Response:
        nonces.append(parse_headers(dict(request.headers)).nonce.hex())
        step = script.pop(0)
        if step == "cut":
            raise httpx.ReadError("connection reset", request=request)
        body = {"host_time": 1_795_000_000, "ok": True}
        return httpx.Response(int(step), json=body if step == 200 else {})

    sleeps: list[float] = []
    answer = _client(handler, sleeps).call("GET", "/v1/terminal")
    assert answer["ok"] and len(nonces) == 4 and len(set(nonces)) == 4
    assert len(sleeps) == 3  # exponential: each wait in [half, all] of 0.1, 0.2, 0.4 s
    assert all(0.1 * 2**n / 2 <= wait <= 0.1 * 2**n for n, wait in enumerate(sleeps))


def test_refusals_are_not_retried_and_keep_the_hosts_code() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        error = {"code": "clock_skew", "message": "set the clock", "host_time": 5}
        return httpx.Response(401, json={"error": error})

    with pytest.raises(SyncError) as refused:
        _client(handler, []).call("GET", "/v1/terminal")
    assert refused.value.code == "clock_skew" and len(calls) == 1


def test_an_unreachable_host_gives_up_after_the_attempts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sleeps: list[float] = []
    with pytest.raises(SyncError) as failed:
        _client(handler, sleeps, attempts=3).call("GET", "/v1/terminal")
    assert failed.value.code == "unreachable" and len(sleeps) == 2


class ScriptedHost:
    """Answers uploads like the gateway: ``answer(record)`` says what happens to each record."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.host_time: int | None = 1_795_000_000
        self.uploads: list[list[int]] = []
        self.lock = threading.Lock()
        self.backoff = Backoff()  # the client's retry policy, as GatewayClient has it

    def upload(self, records: list[Record]) -> IngestResponse:
        with self.lock:
            self.uploads.append([r.seq for r in records])
        results = []
        for record in records:
            status, stored = self.answer(record)
            results.append(
                RecordResultBody(
                    id=str(record.id),
                    seq=record.seq,
                    status=status,
                    code=status,
                    message="",
                    stored=stored,
                    duplicate=False,
                )
            )
        return ingest_answer(results)

    def updates(self, held: dict[str, int], seq: int) -> UpdatesResponse:
        return nothing_new(self.host_time or 0)


def ingest_answer(results: list[RecordResultBody]) -> IngestResponse:
    """The records answer around ``results`` (the counts are not what the syncer reads)."""
    return IngestResponse(
        terminal_id="SMD-0001",
        host_time=1_795_000_000,
        results=results,
        **dict.fromkeys(("accepted", "rejected", "duplicates", "conflicts", "deferred"), 0),
        contiguous_seq=0,
        last_seq=0,
        gaps=[],
    )


def nothing_new(host_time: int) -> UpdatesResponse:
    return UpdatesResponse(
        host_time=host_time,
        catalog=None,
        config=None,
        hotlist=HotlistBody(version=0, document=None),
        loads=LoadsBody(version=0, pending=[], applied=[], more=False),
        wanted=[],
        resolutions=[],
    )


def _journal_with_sales(kit: JournalKit, journal: Journal, count: int) -> list[Record]:
    return [complete(journal, kit.sale(1)) for _ in range(count)]


def _syncer(journal: Journal, host: ScriptedHost, batch: int = 3) -> Syncer:
    return Syncer(journal, host, {}, batch=batch)  # type: ignore[arg-type]


def _background_cycles(syncer: Syncer, cycles: int) -> tuple[bool, list[SyncReport]]:
    """Run ``syncer`` in the background until it has reported ``cycles`` times (or 10 s have
    passed), then stop it; whether it got there, and every report it made."""
    reports: list[SyncReport] = []
    enough = threading.Event()

    def on_report(report: SyncReport) -> None:
        reports.append(report)
        if len(reports) >= cycles:
            enough.set()

    syncer.start(interval=0.01, on_report=on_report)
    ran = enough.wait(10)
    syncer.stop()
    return ran, reports


def test_only_what_the_host_holds_leaves_the_outbox(
    journal_kit: JournalKit, journal: Journal
) -> None:
    sales = _journal_with_sales(journal_kit, journal, 7)
    refused = {sales[1].seq: ("conflict", False), sales[4].seq: ("rejected", True)}
    host = ScriptedHost(lambda r: refused.get(r.seq, ("accepted", True)))
    report = _syncer(journal, host).run_once()
    assert (report.accepted, report.rejected, report.conflicts) == (5, 1, 1)
    assert [r.seq for r in journal.unacknowledged(100)] == [sales[1].seq]
    assert len(journal.records()) == 7  # nothing is ever removed from the journal
    assert journal.acknowledgement(sales[4].id) is not None
    assert any("conflict" in problem for problem in report.problems)


def test_a_host_lost_mid_cycle_leaves_the_rest_in_the_outbox(
    journal_kit: JournalKit, journal: Journal
) -> None:
    _journal_with_sales(journal_kit, journal, 9)

    def answer(record: Record) -> tuple[str, bool]:
        if record.seq > 3:  # the host went away after answering the first batch
            raise SyncError("host not reachable after 6 attempts")
        return "accepted", True

    host = ScriptedHost(answer)
    report = _syncer(journal, host).run_once()
    assert not report.ok and "unreachable" in (report.error or "")
    assert journal.counts().outbox == 6  # the first batch of three is acknowledged, no more
    assert len(journal.records()) == 9


def test_a_void_that_overtook_its_sale_is_sent_again_in_order(
    journal_kit: JournalKit, journal: Journal
) -> None:
    sale = complete(journal, journal_kit.sale(1))
    _journal_with_sales(journal_kit, journal, 2)
    void = complete(journal, journal_kit.void(sale))
    deferrals: list[int] = []

    def answer(record: Record) -> tuple[str, bool]:
        if record.id == void.id and not deferrals:
            deferrals.append(record.seq)  # its batch reached the host before the sale's batch
            return "deferred", False
        return "accepted", True

    host = ScriptedHost(answer)
    report = _syncer(journal, host, batch=2).run_once()
    assert report.ok and report.deferred == 0 and report.problems == [], report
    assert journal.counts().outbox == 0
    assert host.uploads[-1] == [void.seq]  # sent again on its own, after everything before it


def test_background_sync_runs_until_stopped(journal_kit: JournalKit, journal: Journal) -> None:
    _journal_with_sales(journal_kit, journal, 2)
    host = ScriptedHost(lambda r: ("accepted", True))
    ran, reports = _background_cycles(_syncer(journal, host), 2)
    assert ran, "no background cycles"
    count = len(reports)
    assert reports[0].ok and reports[0].accepted == 2 and journal.counts().outbox == 0
    threading.Event().wait(0.1)
    assert len(reports) == count  # stopped means stopped


def test_stopping_the_background_sync_does_not_wait_out_the_retries(
    journal_kit: JournalKit, journal: Journal
) -> None:
    """The cashier closes the app while the host cannot be reached: the sync thread is in a
    long wait between retries; stop ends it at once and the outbox stays as it was."""
    _journal_with_sales(journal_kit, journal, 2)
    tried = threading.Event()

    def unreachable(request: httpx.Request) -> httpx.Response:
        tried.set()
        raise httpx.ConnectError("no route to host", request=request)

    client = GatewayClient(
        "http://gateway.test",
        "SMD-0001",
        SigningKey.generate(),
        backoff=Backoff(attempts=6, base=60.0, cap=60.0, jitter=False),
        transport=httpx.MockTransport(unreachable),
    )
    reports: list[SyncReport] = []
    syncer = Syncer(journal, client, {})
    syncer.start(interval=3600, on_report=reports.append)
    assert tried.wait(10)
    thread = syncer._thread
    assert thread is not None
    syncer.stop()
    assert not thread.is_alive()  # without it: stop gave up after its 30 s join, thread alive
    assert [r.error for r in reports] == ["stopped: the terminal is closing: sync stopped"]
    assert journal.counts().outbox == 2


def test_an_answer_the_journal_cannot_take_is_reported_and_the_background_sync_goes_on(
    journal_kit: JournalKit, journal: Journal
) -> None:
    sales = _journal_with_sales(journal_kit, journal, 2)
    host = ScriptedHost(lambda r: ("accepted", True))
    honest_upload = host.upload

    def acknowledging_a_stranger(records: list[Record]) -> IngestResponse:
        answer = honest_upload(records)
        answer.results[0].id = str(uuid.uuid4())  # a record this terminal never made
        return answer

    host.upload = acknowledging_a_stranger  # type: ignore[method-assign]
    ran, reports = _background_cycles(_syncer(journal, host), 2)
    assert ran, "the background sync stopped after a bad answer"
    assert not reports[0].ok and (reports[0].error or "").startswith("bad_answer:")
    assert journal.offline_state().last_sync_time is None  # never counted as synced
    assert {r.seq for r in journal.unacknowledged(10)} == {s.seq for s in sales}


class HttpHost:
    """A scripted gateway at the HTTP level: each path answers the JSON it is given, so the
    real GatewayClient reads it exactly as it would read the gateway's."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=self.answers[request.url.path])


def _http_syncer(journal: Journal, host: HttpHost, authority: SigningKey) -> Syncer:
    client = _client(host, [], attempts=1)
    return Syncer(journal, client, {authority.key_id: authority.public_key}, batch=3)


def test_a_malformed_records_answer_is_one_clear_error_and_the_outbox_keeps_every_record(
    journal_kit: JournalKit, journal: Journal
) -> None:
    sales = _journal_with_sales(journal_kit, journal, 2)
    answer = ingest_answer([]).model_dump(mode="json")
    answer["results"] = [{"id": str(s.id), "seq": s.seq, "status": "accepted"} for s in sales]
    host = HttpHost({"/v1/records": answer, "/v1/updates": nothing_new(1).model_dump()})
    report = _http_syncer(journal, host, SigningKey.generate()).run_once()
    assert (report.error or "").startswith("bad_answer: the host's answer to records")
    assert "results.0.code" in (report.error or "")  # names the first field out of contract
    assert {r.seq for r in journal.unacknowledged(10)} == {s.seq for s in sales}
    assert journal.offline_state().last_sync_time is None and journal.document_versions() == {}


def test_a_malformed_updates_answer_stores_none_of_its_documents(journal: Journal) -> None:
    authority = SigningKey.generate()
    config = SignedDocument.sign(CONFIG_KIND, 1, 1_795_000_000, {"risk": {}}, authority)
    answer = nothing_new(1_795_000_000).model_dump()
    answer["config"] = {"version": 1, "document": b64encode(config.encode())}
    broken = answer | {"loads": {"version": "soon"}}  # a config that verifies, loads that don't
    report = _http_syncer(journal, HttpHost({"/v1/updates": broken}), authority).run_once()
    assert (report.error or "").startswith("bad_answer: the host's answer to updates")
    assert "loads" in (report.error or "") and journal.document_versions() == {}
    assert journal.offline_state().last_sync_time is None
    # The same answer with its loads in order is taken: the config above was refused only
    # because the answer around it was out of contract.
    report = _http_syncer(journal, HttpHost({"/v1/updates": answer}), authority).run_once()
    assert report.ok and journal.document_versions().get(CONFIG_KIND) == 1, report


def test_the_terminal_refuses_clear_text_off_loopback_and_https_without_a_pinned_ca() -> None:
    assert gateway_trust("http://127.0.0.1:8080", None) is True  # the demo, on this machine
    assert gateway_trust("http://localhost:8080", None) is True
    assert gateway_trust("http://[::1]:8080", None) is True
    for url in ("http://10.20.0.5:8080", "http://gateway.samarindakota.go.id", "ftp://x"):
        with pytest.raises(SyncError) as refused:
            gateway_trust(url, None)
        assert refused.value.code == "insecure_gateway"
    with pytest.raises(SyncError) as unpinned:
        gateway_trust("https://gateway.samarindakota.go.id", None)
    assert unpinned.value.code == "insecure_gateway"
    with pytest.raises(SyncError):
        GatewayClient("http://10.20.0.5:8080", "SMD-0001", SigningKey.generate())
