"""Recipients from the data portal: a validation report that stores nothing, an import that is
all or nothing and idempotent, the NIK sealed and found by its keyed hash."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.programs import recipients
from host_gateway.programs.identity import mask
from host_gateway.programs.models import Recipient, RecipientProgram
from tests.fixtures.gateway import World
from tests.fixtures.programs import (
    HEADER,
    csv_file,
    define_programs,
    ids,
    import_csv,
    kk,
    nik,
    recipient_count,
    row,
)

GOOD = [
    row(1),
    row(2, programs="APBD;BZNS"),
    row(3, kelurahan="Sungai Keledang", kecamatan="Samarinda Seberang", religion=""),
]
BAD = {  # line in the file -> the reason shown
    5: (f"{nik(10)},{kk(10)},Warga,Jl. A,Sempaja Selatan", "5 fields, the header has 8"),
    6: (row(11).replace("Warga 11", ""), "missing name"),
    7: (row(12).replace(nik(12), "64720612038"), "NIK must be 16 digits"),
    8: (row(13).replace(nik(13), "9972061203850013"), "NIK region code 997206"),
    9: (row(14).replace(nik(14), "6472063113850014"), "birth date part 311385"),
    10: (row(15).replace(nik(15), "6472061203850000"), "serial number 0000"),
    11: (row(1, household=16), "the same NIK as line 2"),
    12: (row(17, household=1), "household (KK) already has an active APBD recipient (line 2)"),
    13: (row(18, kelurahan="Kuta"), "kelurahan 'Kuta' is not in kecamatan Samarinda Utara"),
    14: (row(19, kecamatan="Denpasar"), "unknown kecamatan 'Denpasar'"),
    15: (row(20, programs="APBD;PKH"), "unknown program PKH"),
    16: (row(21, programs="BZNS", religion="Kristen"), "not eligible for BZNS"),
    17: (row(22, programs="BZNS", religion=""), "missing religion"),
    18: (row(23).replace(kk(23), "12345"), "KK number must be 16 digits"),
}
MIXED = csv_file(*GOOD, *(text for text, _ in BAD.values()))


@pytest.fixture
def programs(world: World) -> World:
    define_programs(world)
    return world


def test_the_report_names_every_bad_row_and_stores_nothing(programs: World) -> None:
    with transaction(programs.gateway.factory) as session:
        report = recipients.validate(session, ids(programs), MIXED)
    assert (report.rows, len(report.new), report.unchanged) == (3 + len(BAD), 3, 0)
    assert [b.line for b in report.bad] == sorted(BAD)
    for bad in report.bad:
        assert BAD[bad.line][1] in bad.reason
        assert "6472" not in bad.reason  # a reason names the line, never the NIK
    assert recipient_count(programs) == 0


def test_an_import_with_bad_rows_stores_nothing_unless_they_are_excluded(programs: World) -> None:
    with pytest.raises(GatewayError, match=r"14 bad rows \(first: line 5"):
        import_csv(programs, MIXED)
    assert recipient_count(programs) == 0
    report = import_csv(programs, MIXED, exclude_bad=True)
    assert (len(report.new), len(report.bad)) == (3, 14)
    with transaction(programs.gateway.factory) as session:
        found = recipients.find_by_nik(session, ids(programs), nik(2))
        assert (found.name, found.kelurahan) == ("Warga 2", "Sempaja Selatan")
        assert recipients.programs_of(session, found.id) == ["APBD", "BZNS"]
        assert recipients.masked_nik(ids(programs), found) == mask(nik(2)) == "647206********02"
        opened = recipients.reveal_nik(
            session, ids(programs), found.id, operator="Ani", reason="KPM complaint", now=0
        )
        assert opened == nik(2)
        for stored in session.scalars(select(Recipient)):  # sealed at rest, no KK either
            assert b"6472" not in stored.nik_sealed + stored.nik_hash + stored.kk_hash


def test_the_same_file_twice_changes_nothing(programs: World) -> None:
    clean = csv_file(*GOOD)
    first = import_csv(programs, clean)
    assert len(first.new) == 3

    def snapshot() -> list[tuple[object, ...]]:
        with transaction(programs.gateway.factory) as session:
            people = session.execute(select(Recipient.__table__)).all()
            members = session.execute(select(RecipientProgram.__table__)).all()
            return sorted(tuple(r) for r in people) + sorted(tuple(m) for m in members)

    before = snapshot()
    again = import_csv(programs, clean)
    assert (len(again.new), again.unchanged, again.bad) == (0, 3, [])
    assert snapshot() == before
    changed = csv_file(row(1, name="Warga Lain"))
    with pytest.raises(GatewayError, match="already registered"):
        import_csv(programs, changed)
    household = csv_file(row(30, household=1))  # the household's APBD place is taken
    with pytest.raises(GatewayError, match="recipient 1"):
        import_csv(programs, household)
    assert snapshot() == before


def test_a_file_that_is_not_the_portal_csv_is_refused(programs: World) -> None:
    for data, message in [
        (b"nik,name\n1,2\n", "header needs the columns"),
        (HEADER.encode() + b"\n\xff\xfe\n", "not UTF-8"),
    ]:
        with pytest.raises(GatewayError, match=message):
            import_csv(programs, data)
    assert recipient_count(programs) == 0
