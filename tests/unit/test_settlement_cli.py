"""The whole leg through the console scripts: ``ssn-gateway settlement``/``bank`` and
``ssn-sim bank`` (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from host_gateway import postings
from host_gateway.cli import main as gateway_main
from host_gateway.db import transaction
from simulators.cli import main as sim_main
from tests.fixtures.gateway import FakeClock, World
from tests.unit.test_settlement_windows import END_OF_DAY


def test_settle_pay_and_reconcile_from_the_command_line(
    sqlite_world: World, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = sqlite_world
    url = world.gateway.engine.url.render_as_string(hide_password=False)
    card = world.funded_card()
    world.ingest([world.terminal.sell(card)])
    with transaction(world.gateway.factory) as session:
        funding = postings.Entry("funding", "giro funding for APBD")
        postings.post(session, world.now, [funding.transfer(postings.GIRO, "fund:APBD", 500_000)])
    clock.now = END_OF_DAY + 60  # the CLI uses the real clock: long after this cut-off

    def gw(*words: str) -> tuple[int, str]:
        code = gateway_main([*words, "--db", url, "--json"])
        captured = capsys.readouterr()
        return code, captured.out or captured.err

    def sim(*words: str) -> dict[str, object]:
        assert sim_main(["bank", *words, "--state", str(tmp_path / "bank.json"), "--json"]) == 0
        return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]

    account = ("--bic", "BRINIDJA", "--account", "1234567890", "--holder", "Toko Makmur")
    assert gw("settlement", "shop-account", world.shop_id, *account, "--operator", "Ani")[0] == 0
    code, err = gw(
        "settlement",
        "shop-account",
        world.shop_id,
        "--bic",
        "XX",
        "--account",
        "1",
        "--holder",
        "x",
        "--operator",
        "Ani",
    )
    assert code == 2 and "not the BIC of an Indonesian bank" in err
    giro = ("--bic", "BPDKIDJ1", "--account", "0011223344", "--holder", "Dinas Sosial")
    assert gw("settlement", "giro", *giro)[0] == 0
    code, out = gw("settlement", "close", "--date", "2026-11-18", "--operator", "Ani")
    assert code == 0 and json.loads(out)["payout_total"] == 70_000
    assert gw("settlement", "prepare", "--date", "2026-11-18", "--operator", "Ani")[0] == 0
    released = tmp_path / "pain001.xml"
    release = ("settlement", "release", "--date", "2026-11-18", "--out", str(released))
    code, err = gw(*release, "--operator", "ani")
    assert code == 2 and "another operator" in err and not released.exists()
    assert gw(*release, "--operator", "Budi", "--csv", str(tmp_path / "p.csv"))[0] == 0
    again = tmp_path / "again.xml"
    assert gw("settlement", "file", "--date", "2026-11-18", "--out", str(again))[0] == 0
    assert again.read_bytes() == released.read_bytes()
    code, err = gw(*release, "--operator", "Citra")
    assert code == 2 and "never twice" in err

    sim("init", "--giro", "0011223344", "--bic", "BPDKIDJ1")
    sim("fund", "--amount", "500000")
    sim("open-account", "--account", "1234567890", "--bic", "BRINIDJA", "--holder", "Toko")
    files = sim("submit", str(released), "--out", str(tmp_path / "answers"))["files"]
    assert isinstance(files, list) and len(files) == 2
    code, out = gw("bank", "import", *files)
    assert code == 0
    assert [len(r["paid"]) for r in json.loads(out)] == [0, 1]
    code, out = gw("bank", "status")
    status = json.loads(out)
    assert code == 0 and status["giro_journal"] == status["giro_bank"] == 430_000
    assert [p["status"] for p in status["payouts"]] == ["paid"]
    code, out = gw("bank", "import", *files)
    assert all(r["duplicate"] for r in json.loads(out))
    code, out = gw("settlement", "report", "--year", "2026", "--half", "2", "--out", str(tmp_path))
    made = [Path(name) for name in json.loads(out)["files"]]
    assert code == 0 and [p.suffix for p in made] == [".json", ".csv", ".pdf"]
    assert json.loads(made[0].read_text())["payouts"]["paid"] == 70_000
    assert made[2].read_bytes().startswith(b"%PDF")
