"""``ssn-gateway`` as an operator (and the next issue's seed command) drives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from host_gateway.cli import main
from host_gateway.db import make_engine, session_factory, transaction
from host_gateway.models import Account
from ledger.cardproofs import CardCertificate
from ledger.crypto import SigningKey
from tests.fixtures.gateway import CATALOG


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], db: str) -> None:
        self.capsys, self.db = capsys, db

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--db", self.db])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str) -> Any:
        code, out, err = self(*argv, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    monkeypatch.setenv("SSN_GATEWAY_PASSPHRASE", "kata-sandi")
    monkeypatch.setenv("SSN_GATEWAY_HOME", str(tmp_path / "home"))
    return Cli(capsys, f"sqlite:///{tmp_path / 'gw.db'}")


def test_seed_flow(cli: Cli, tmp_path: Path) -> None:
    assert cli.json("init")["created_keys"] is True
    assert cli.json("init")["created_keys"] is False
    shop = cli.json("shops", "add", "--name", "e-Warong Harapan", "--kind", "ewarong")
    assert shop == {"id": "S0001", "name": "e-Warong Harapan", "kind": "ewarong"}
    cli.json("programs", "add", "--code", "APBD", "--name", "APBD Kota Samarinda")
    cli.json("programs", "fund", "--code", "APBD", "--amount", "5000000")
    code = cli.json("enroll-code", "--shop", "S0001")["code"]
    assert len(code) == 14
    catalog_file = tmp_path / "catalog.json"
    catalog = json.loads(json.dumps(CATALOG))
    catalog["items"][0]["programs"] = ["APBD"]
    catalog["items"] = catalog["items"][:1]
    catalog_file.write_text(json.dumps(catalog))
    assert cli.json("catalog", "publish", str(catalog_file)) == {"version": 1, "items": 1}
    key = SigningKey.generate().public_key.hex()
    card = cli.json(
        "cards", "register", "--holder", "Siti Aminah", "--programs", "APBD", "--public-key", key
    )
    assert (
        card["number"] == "6060010000000011"
        and len(card["certificate"]) == 2 * CardCertificate.SIZE
    )
    loads = cli.json(
        "loads",
        "create",
        "--all",
        "--program",
        "APBD",
        "--amount",
        "200000",
        "--expiry",
        "2099-01-31",
    )
    assert loads == [{"card": card["number"], "load_seq": 1, "amount": 200_000}]
    shown = cli.json("cards", "show", card["number"])
    assert shown["pending_loads"] == [{"load_seq": 1, "program": "APBD", "amount": 200_000}]
    assert "nik" not in json.dumps(shown).lower()
    assert cli.json("check")["ok"] is True
    audited = cli.json("events", "--recent", "20")
    assert audited["counts"]["operator"] == 7  # every change above, none of the reads
    actions = " | ".join(e["message"] for e in audited["recent"] if e["code"] == "operator")
    assert f"cards register {card['number']} (APBD)" in actions
    assert "loads create 1 x Rp200.000 APBD" in actions
    code_out, out, _ = cli("check")
    assert code_out == 0 and out.strip().endswith("ok")


def test_bad_input_is_one_clear_line(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("shops", "list")
    assert code == 2 and "not initialized: run `ssn-gateway init`" in err
    cli.json("init")
    missing = tmp_path / "nope.json"
    code, _, err = cli("catalog", "publish", str(missing))
    assert code == 2 and "cannot read catalog file" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = cli("catalog", "publish", str(broken))
    assert code == 2 and "not valid JSON" in err
    code, _, err = cli("enroll-code", "--shop", "S0404")
    assert code == 2 and "shop S0404 does not exist" in err
    code, _, err = cli(
        "cards", "register", "--holder", "A", "--programs", "APBD", "--public-key", "zz"
    )
    assert code == 2 and "hex" in err
    code, _, err = cli("terminals", "revoke", "SMD-0404")
    assert code == 2 and "terminal SMD-0404 does not exist" in err
    for command in ("show", "hotlist"):  # one wording for an unknown card, whatever the command
        code, _, err = cli("cards", command, "6060019999999999")
        assert code == 2 and "card 6060019999999999 does not exist" in err
    assert "Traceback" not in err


def test_wrong_passphrase_is_refused(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.json("init")
    cli.json("programs", "add", "--code", "APBD", "--name", "APBD")
    monkeypatch.setenv("SSN_GATEWAY_PASSPHRASE", "salah")
    code, _, err = cli(
        "cards", "register", "--holder", "A", "--programs", "APBD", "--public-key", "00" * 32
    )
    assert code == 2 and "wrong passphrase" in err


def test_check_names_the_first_discrepancy(cli: Cli) -> None:
    cli.json("init")
    cli.json("programs", "add", "--code", "APBD", "--name", "APBD")
    cli.json("programs", "fund", "--code", "APBD", "--amount", "1000")
    engine = make_engine(cli.db)
    with transaction(session_factory(engine)) as session:
        session.execute(update(Account).where(Account.code == "giro").values(balance=999))
    engine.dispose()
    code, _, err = cli("check")
    assert code == 1
    assert "account giro: balance 999 but its lines sum to 1000" in err
