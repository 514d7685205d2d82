"""Several gateway processes on one PostgreSQL: a terminal's retried batches raced through two
gateways at once (one of them running two processes, `serve --workers 2`) post every record
exactly once, and the books check clean afterwards."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from host_gateway import postings
from host_gateway.check import run_check
from host_gateway.db import transaction
from host_gateway.models import Account, JournalEntry, StoredRecord
from ledger.bodies import SaleBody
from ledger.record import Record
from tests.fixtures.gateway import ServerProcess, SignedClient, now_sale, serve_world

ROUNDS = 15
NEW_PER_ROUND = 6
RETRIED_PER_ROUND = 4
UPLOADS_AT_ONCE = 4


def test_retried_batches_raced_through_two_gateways_post_each_record_once(
    pg_schema_url: str, tmp_path: Path
) -> None:
    first, world = serve_world(pg_schema_url, tmp_path, processes=2)
    second = ServerProcess(pg_schema_url, tmp_path).start()
    bases = [first.base_url, second.base_url]
    clients = [SignedClient(bases[i % 2], world.terminal) for i in range(UPLOADS_AT_ONCE)]
    try:
        card = world.funded_card(100_000_000)
        sent: list[Record] = []
        with ThreadPoolExecutor(UPLOADS_AT_ONCE) as pool:
            for _ in range(ROUNDS):
                fresh = [now_sale(world, world.terminal, card) for _ in range(NEW_PER_ROUND)]
                batch = sent[-RETRIED_PER_ROUND:] + fresh  # an unanswered batch, sent again
                sent += fresh
                answers = list(pool.map(SignedClient.upload, clients, [batch] * len(clients)))
                for answer in answers:
                    _assert_all_held(answer, batch)
        with transaction(world.gateway.factory) as session:
            ids = [r.id.bytes for r in sent]
            held = session.scalar(
                select(func.count()).where(
                    StoredRecord.terminal_id == world.terminal.terminal_id,
                    StoredRecord.type == "sale",
                    StoredRecord.status == "accepted",
                )
            )
            entries = session.execute(
                select(JournalEntry.record_id, func.count())
                .where(JournalEntry.record_id.in_(ids))
                .group_by(JournalEntry.record_id)
            ).all()
            owed = session.scalar(
                select(Account.balance).where(Account.code == postings.shop(world.shop_id))
            )
            report = run_check(session)
        paid = sum(sum(SaleBody.from_value(r.body).purse_totals().values()) for r in sent)
        assert held == len(sent) == ROUNDS * NEW_PER_ROUND
        assert sorted(count for _, count in entries) == [1] * len(sent)
        assert owed == -paid  # a credit: what the program owes the shop, every sale once
        assert report.ok, report
    finally:
        for client in clients:
            client.close()
        second.stop()
        first.stop()
        world.gateway.close()


def _assert_all_held(answer: httpx.Response, batch: list[Record]) -> None:
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [uuid.UUID(r["id"]) for r in results] == [r.id for r in batch]
    assert all(r["status"] == "accepted" and r["stored"] for r in results), results
