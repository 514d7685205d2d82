"""The journal's schema comes from its packaged migrations, with the durability settings on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from terminal.journal import Journal, JournalError
from terminal.journal.db import MIGRATIONS_DIR
from terminal.journal.schema import APPEND_ONLY_TRIGGERS, SCHEMA_REVISION, metadata
from terminal.receipts.jobs import JobKind
from tests.fixtures.journal import JournalKit


def test_newest_migration_is_the_revision_the_code_expects() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_REVISION]


def test_migrated_schema_matches_the_table_definitions(
    journal: Journal, journal_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{journal_path}")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == SCHEMA_REVISION
        assert compare_metadata(context, metadata) == []
        triggers = {
            row[0]
            for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
    engine.dispose()
    assert triggers == set(APPEND_ONLY_TRIGGERS)


def test_durability_settings_are_on(journal: Journal) -> None:
    raw = journal._driver()
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_journal_from_an_unknown_newer_schema_is_refused(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    journal_kit.open(journal_path).close()
    raw = sqlite3.connect(journal_path)
    raw.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    raw.commit()
    raw.close()
    with pytest.raises(JournalError, match="newer version"):
        journal_kit.open(journal_path)


def test_an_empty_file_is_migrated_to_the_newest_schema(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    journal_path.parent.mkdir(parents=True)
    sqlite3.connect(journal_path).close()
    with journal_kit.open(journal_path) as journal:
        assert journal.records() == []
        assert journal.counts().outbox == 0


def test_a_journal_of_the_first_schema_keeps_its_print_jobs_and_gains_the_sent_mark(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    journal_path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{journal_path}")
    with engine.connect() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        with conn.begin():
            command.upgrade(config, "0001_initial")
    engine.dispose()
    raw = sqlite3.connect(journal_path)
    raw.execute("INSERT INTO print_jobs (kind, data) VALUES ('balance', x'1b40')")
    raw.commit()
    raw.close()

    with journal_kit.open(journal_path) as journal:
        (job,) = journal.pending_jobs()
        assert (job.kind, job.data, job.sent) == (JobKind.BALANCE, b"\x1b@", False)
        journal.mark_sent(job.job_id, 1_795_000_000)
        assert journal.pending_jobs()[0].first_sent == 1_795_000_000


def test_a_journal_with_records_keeps_them_and_takes_pin_unblock_records(
    journal_kit: JournalKit, journal_path: Path
) -> None:
    """0004 rebuilds ``records`` and ``intents`` under their children (acks, print jobs):
    every row stays, the chain and append-only triggers are back, and the new type fits."""
    journal_path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{journal_path}")
    with engine.connect() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        with conn.begin():
            command.upgrade(config, "0003_card_evidence")
    engine.dispose()
    raw = sqlite3.connect(journal_path)
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute(
        "INSERT INTO records VALUES (1, zeroblob(16), 'block', 1, '2026-11-18', 0,"
        " zeroblob(32), randomblob(32), x'02')"
    )
    raw.execute("INSERT INTO acks VALUES (1, 'accepted', 2)")
    raw.execute("INSERT INTO print_jobs (record_id, kind, data) VALUES (zeroblob(16), 'k', x'00')")
    raw.execute(
        "INSERT INTO intents (id, kind, card_number, expected_counter, nonce, request, draft,"
        " created, status, record_seq) VALUES (x'11111111111111111111111111111111', 'block',"
        " '6060010000000011', 1, x'22222222222222222222222222222222', x'', x'', 1,"
        " 'completed', 1)"
    )
    raw.commit()
    raw.close()

    with journal_kit.open(journal_path):
        pass
    raw = sqlite3.connect(journal_path)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("SELECT seq, type FROM records").fetchall() == [(1, "block")]
    assert raw.execute("SELECT count(*) FROM acks JOIN records USING (seq)").fetchone() == (1,)
    assert raw.execute("SELECT record_seq FROM intents").fetchall() == [(1,)]
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM records")
    with pytest.raises(sqlite3.IntegrityError, match="extend the chain"):
        raw.execute(
            "INSERT INTO records VALUES (5, randomblob(16), 'pin_unblock', 1, 'd', 0,"
            " zeroblob(32), randomblob(32), x'02')"
        )
    raw.execute(
        "INSERT INTO records SELECT 2, randomblob(16), 'pin_unblock', 1, 'd', 0, hash,"
        " randomblob(32), x'02' FROM records WHERE seq = 1"
    )
    raw.close()
