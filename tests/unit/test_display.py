"""Rupiah and WITA as people read them, in the console and the CLI's human output."""

from __future__ import annotations

from host_gateway.display import duration, rupiah, signed_rupiah, start_of_day, wita
from tests.factories import T0


def test_rupiah_groups_thousands_with_dots_and_keeps_the_sign() -> None:
    assert rupiah(0) == "Rp0"
    assert rupiah(15_700) == "Rp15.700"
    assert rupiah(1_234_500) == "Rp1.234.500"
    assert rupiah(-70_000) == "-Rp70.000"
    assert signed_rupiah(70_000) == "+Rp70.000"
    assert signed_rupiah(-70_000) == "-Rp70.000"


def test_times_are_shown_in_wita() -> None:
    assert wita(0) == "01-01-1970 08:00 WITA"
    assert wita(None) == "-"
    day = start_of_day(T0)
    assert wita(day).endswith("00:00 WITA")
    assert day <= T0 < day + 86_400
    assert start_of_day(day + 86_399) == day


def test_lags_read_as_people_say_them() -> None:
    assert [duration(s) for s in (5, 59, 60, 3_600, 2 * 86_400, -3)] == [
        "5 dtk", "59 dtk", "1 mnt", "1 jam", "2 hari", "0 dtk",
    ]  # fmt: skip
