"""An attacker with the disk edits the journal file around SQLite; ``verify-ledger`` names the
first bad record (sequence number, id, reason) and exits non-zero."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.record import Record
from ledger.verify import business_date
from terminal.cli import main
from terminal.home import TerminalHome
from tests.factories import T0
from tests.fixtures.journal import JournalKit, complete, day_close

EXIT_BAD = 1


@pytest.fixture
def five_records(terminal_home: TerminalHome, journal_kit: JournalKit) -> list[Record]:
    """Sales, a void, a load: every card operation that carries a card's signature."""
    journal = terminal_home.journal
    first = complete(journal, journal_kit.sale(1))
    records = [first, complete(journal, journal_kit.sale(2))]
    records.append(complete(journal, journal_kit.sale(3)))
    records.append(complete(journal, journal_kit.void(first, T0 + 60)))
    records.append(complete(journal, journal_kit.load(2, load_seq=1, amount=100_000)))
    journal.acknowledge([r.id for r in records], ["accepted"] * 5, time=T0 + 100)
    terminal_home.close()  # the last connection checkpoints the WAL into the file
    return records


def verify(home: TerminalHome, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["verify-ledger", "--data-dir", str(home.paths.data_dir), "--json"])
    return code, json.loads(capsys.readouterr().out)


def as_attacker(path: Path, edit: Callable[[sqlite3.Connection], None]) -> None:
    """Drop the append-only triggers, edit, put the triggers back exactly as they were."""
    raw = sqlite3.connect(path, isolation_level=None)
    triggers = raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _sql in triggers:
        raw.execute(f"DROP TRIGGER {name}")
    edit(raw)
    for _name, sql in triggers:
        raw.execute(sql)
    raw.close()


def test_clean_journal_verifies_with_counts(
    terminal_home: TerminalHome, five_records: list[Record], capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = verify(terminal_home, capsys)
    assert code == 0
    assert result["ok"] is True
    assert result["records"] == 5
    assert result["by_type"] == {"load": 1, "sale": 3, "void": 1}
    assert result["first_bad"] is None and result["problems"] == []
    assert result["outbox"] == 0


def test_a_changed_byte_names_the_record(
    terminal_home: TerminalHome, five_records: list[Record], capsys: pytest.CaptureFixture[str]
) -> None:
    target = five_records[2]
    data = bytearray(terminal_home.paths.journal.read_bytes())
    where = data.find(target.encode())
    assert where > 0 and data.count(target.encode()) == 1
    price = (70_000).to_bytes(4, "big")  # the rupiah the card paid for the rice, in CBOR
    offset = where + target.encode().index(b"\x1a" + price)
    data[offset + 4] ^= 0x01
    terminal_home.paths.journal.write_bytes(bytes(data))

    code, result = verify(terminal_home, capsys)
    assert code == EXIT_BAD
    assert result["first_bad"]["seq"] == 3
    assert result["first_bad"]["id"] == str(target.id)
    assert result["records"] == 2


def test_a_removed_record_is_named(
    terminal_home: TerminalHome, five_records: list[Record], capsys: pytest.CaptureFixture[str]
) -> None:
    delete_second = "DELETE FROM records WHERE seq = 2"
    as_attacker(terminal_home.paths.journal, lambda raw: raw.execute(delete_second))
    code, result = verify(terminal_home, capsys)
    assert code == EXIT_BAD
    assert result["first_bad"] == {
        "seq": 2,
        "id": str(five_records[2].id),
        "reason": "sequence 3 where 2 was expected",
    }


def test_two_reordered_records_are_named(
    terminal_home: TerminalHome, five_records: list[Record], capsys: pytest.CaptureFixture[str]
) -> None:
    def swap(raw: sqlite3.Connection) -> None:
        raw.execute("UPDATE records SET seq = 1000 WHERE seq = 3")
        raw.execute("UPDATE records SET seq = 3 WHERE seq = 4")
        raw.execute("UPDATE records SET seq = 4 WHERE seq = 1000")

    as_attacker(terminal_home.paths.journal, swap)
    code, result = verify(terminal_home, capsys)
    assert code == EXIT_BAD
    assert result["first_bad"]["seq"] == 3
    assert result["first_bad"]["id"] == str(five_records[3].id)
    assert "sequence 4 where 3 was expected" in result["first_bad"]["reason"]


def test_swapped_contents_behind_unchanged_rows_are_named(
    terminal_home: TerminalHome, five_records: list[Record], capsys: pytest.CaptureFixture[str]
) -> None:
    def swap_bytes(raw: sqlite3.Connection) -> None:
        three, four = (
            raw.execute("SELECT encoded FROM records WHERE seq = ?", (seq,)).fetchone()[0]
            for seq in (3, 4)
        )
        raw.execute("UPDATE records SET encoded = ? WHERE seq = 3", (four,))
        raw.execute("UPDATE records SET encoded = ? WHERE seq = 4", (three,))

    as_attacker(terminal_home.paths.journal, swap_bytes)
    code, result = verify(terminal_home, capsys)
    assert code == EXIT_BAD
    assert (result["first_bad"]["seq"], result["records"]) == (3, 2)


def test_a_truncated_end_is_reported(
    terminal_home: TerminalHome, five_records: list[Record], capsys: pytest.CaptureFixture[str]
) -> None:
    delete_last = "DELETE FROM records WHERE seq = 5"
    as_attacker(terminal_home.paths.journal, lambda raw: raw.execute(delete_last))
    code, result = verify(terminal_home, capsys)
    assert code == EXIT_BAD
    assert result["records"] == 4
    assert result["first_bad"]["seq"] == 5
    assert "missing" in result["first_bad"]["reason"]
    assert any("ends at 4" in problem for problem in result["problems"])


def test_removed_triggers_are_reported(
    terminal_home: TerminalHome, five_records: list[Record], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = sqlite3.connect(terminal_home.paths.journal)
    raw.execute("DROP TRIGGER records_no_update")
    raw.close()
    code, result = verify(terminal_home, capsys)
    assert code == EXIT_BAD
    assert result["first_bad"] is None and result["records"] == 5
    assert result["problems"] == [
        "append-only protection removed: triggers records_no_update missing"
    ]


def test_records_appended_after_tampering_do_not_hide_it(
    terminal_home: TerminalHome,
    journal_kit: JournalKit,
    five_records: list[Record],
    capsys: pytest.CaptureFixture[str],
) -> None:
    delete_fourth = "DELETE FROM records WHERE seq = 4"
    as_attacker(terminal_home.paths.journal, lambda raw: raw.execute(delete_fourth))
    with TerminalHome.open(terminal_home.paths.data_dir) as home:
        complete(home.journal, journal_kit.sale(4))
        close = day_close(home.journal, business_date(T0))
    code, result = verify(terminal_home, capsys)
    assert close.seq == 7
    assert code == EXIT_BAD
    assert result["first_bad"]["seq"] == 4
    assert result["first_bad"]["id"] == str(five_records[4].id)
