"""The programs commands end to end on one SQLite gateway: define, validate, import, issue a
card through the simulator reader, prepare and approve aid (two operators), report."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from ledger.verify import business_date
from simulators.card.state import CardData
from simulators.card.store import CardStore
from tests.fixtures.programs import csv_file, nik, row
from tests.unit.test_gateway_cli import Cli
from tests.unit.test_gateway_issue import cli  # noqa: F401 (the fixture)


def test_the_operator_commands(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli.json(
        "programs", "define", "--code", "APBD", "--name", "APBD Sembako", "--funder", "APBD",
        "--categories", "beras,minyak", "--benefit", "200000",
    )  # fmt: skip
    portal = tmp_path / "portal.csv"
    portal.write_bytes(csv_file(row(1), row(2), row(3, household=1)))
    code, out, _ = cli("recipients", "validate", str(portal), "--json")
    assert code == 1
    assert json.loads(out)["bad"] == [
        {"line": 4, "reason": "the household (KK) already has an active APBD recipient (line 2)"}
    ]
    code, _, err = cli("recipients", "import", str(portal))
    assert code != 0 and "1 bad rows" in err
    assert cli.json("recipients", "import", str(portal), "--exclude-bad")["new"] == 2
    listed = cli.json("recipients", "list")
    assert [r["nik"] for r in listed] == ["647206********01", "647206********02"]
    assert nik(1) not in json.dumps(listed)
    card_file = tmp_path / "card.json"
    CardStore(card_file).create(CardData.blank())
    issued = cli.json(
        "recipients", "issue-card", "1", "--reader", f"sim:{card_file}", "--pin", "135790",
        "--display-name", "Bu Siti",
    )  # fmt: skip
    assert CardStore(card_file).load().holder_name == "Bu Siti"
    period = business_date(int(time.time())).strftime("%Y-%m")  # the CLI runs on today
    batch = cli.json("aid", "prepare", "--program", "APBD", "--period", period, "--operator", "ani")
    assert (batch["cards"], batch["recipients_without_card"]) == (1, 1)
    code, _, err = cli("aid", "approve", str(batch["batch"]), "--operator", "Ani")
    assert code != 0 and "another operator" in err
    assert cli.json("aid", "approve", str(batch["batch"]), "--operator", "budi")["signed"] == 1
    shown = cli.json("cards", "show", issued["card"])
    assert [ld["amount"] for ld in shown["pending_loads"]] == [200_000]
    code, out, _ = cli("report", "recipients", "--csv")
    assert code == 0
    assert list(csv.DictReader(io.StringIO(out))) == [
        {
            "kecamatan": "Samarinda Utara", "kelurahan": "Sempaja Selatan", "program": "APBD",
            "registered": "2", "with_card": "1", "aid_received": "0",
        }
    ]  # fmt: skip
    assert cli.json("recipients", "reveal-nik", "2", "--reason", "KPM complaint")["nik"] == nik(2)
    assert cli.json("check")["ok"] is True
