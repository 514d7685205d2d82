"""The NIK never leaves the host in clear: not in a log, an API answer, the card, an operator
report or the database file; every reveal is audited. And the next aid date reaches terminals."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from host_gateway.db import transaction
from host_gateway.models import Event
from host_gateway.programs import aid, cardlife, recipients, reports
from host_gateway.programs.models import Recipient
from tests.fixtures.gateway import World
from tests.fixtures.programs import csv_file, define_programs, ids, import_csv, nik, row
from tests.unit.test_gateway_card_api import Api
from tests.unit.test_programs_cards import blank_card

UPDATES = "/v1/updates?catalog=0&config=0&hotlist=0&loads=0"


def test_the_nik_stays_sealed_in_the_host(
    sqlite_world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world, api = sqlite_world, Api(sqlite_world)
    define_programs(world)
    data = csv_file(row(1, programs="APBD;BZNS"), row(2), row(3, household=1))
    niks = [nik(1), nik(2), nik(3)]
    seen: list[str] = []
    with transaction(world.gateway.factory) as session:
        seen.append(json.dumps(recipients.validate(session, ids(world), data).summary()))
    seen.append(json.dumps(import_csv(world, data, exclude_bad=True).summary()))
    with blank_card(tmp_path / "card.json") as transport:
        issued = cardlife.issue_for_recipient(
            world.gateway.factory, world.gateway.keys, transport,
            recipient_id=1, display_name="Bu Siti", pin="135790", now=world.now, operator="Ani",
        )  # fmt: skip
    number = issued.card.number
    with transaction(world.gateway.factory) as session:
        batch = aid.prepare(session, "APBD", "2026-11", "Ani", world.now).batch.id
        aid.approve(session, world.gateway.keys, batch, "Budi", world.now)
        seen.append(json.dumps(aid.status(session, batch)))
        seen.append(json.dumps(reports.recipients(session) + reports.aid(session)))
        people = session.scalars(select(Recipient).order_by(Recipient.id))
        masked = [recipients.masked_nik(ids(world), r) for r in people]
    assert masked == ["647206********01", "647206********02"]

    status = api(world.terminal, "GET", f"/v1/cards/{number}")
    assert status.status_code == 200, status.text
    assert status.json()["next_aid"] == {"APBD": "2026-12-01", "BZNS": "2026-12-01"}
    updates = api(world.terminal, "GET", UPDATES)
    assert updates.status_code == 200, updates.text
    seen += [status.text, updates.text, (tmp_path / "card.json").read_text()]
    with transaction(world.gateway.factory) as session:
        opened = recipients.reveal_nik(
            session, ids(world), 1, operator="Ani", reason="data check", now=world.now
        )
        assert opened == nik(1)
        audit = [e.message for e in session.scalars(select(Event))]
    assert "Ani: reveal NIK of recipient 1: data check" in audit
    seen += audit
    seen += [record.getMessage() for record in caplog.records]
    database = Path(world.gateway.engine.url.database or "")
    world.gateway.engine.dispose()  # the WAL checkpointed into the file
    seen.append(database.read_bytes().decode("latin-1"))
    everything = "\n".join(seen)
    assert "Bu Siti" in everything  # the search does find what is there
    for value in niks:
        assert value not in everything
