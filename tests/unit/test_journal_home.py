"""The terminal's home: config and journal survive reopen, the key is only usable unlocked."""

from __future__ import annotations

import dataclasses
import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from ledger.binary import FormatError
from ledger.crypto import SigningKey
from terminal.config import TerminalConfig
from terminal.home import (
    DATA_DIR_ENV,
    PASSPHRASE_ENV,
    HomeError,
    TerminalHome,
    default_data_dir,
)
from tests.factories import T0
from tests.fixtures.journal import PASSPHRASE, SUPERVISOR_PIN, JournalKit, complete, terminal_config


def test_home_reopens_with_its_config_key_and_journal(
    terminal_home: TerminalHome, journal_kit: JournalKit
) -> None:
    record = complete(terminal_home.journal, journal_kit.sale())
    data_dir, config = terminal_home.paths.data_dir, terminal_home.config
    terminal_home.close()

    with TerminalHome.open(data_dir) as home:
        assert home.config == config
        assert home.config.terminal_public_key == journal_kit.key.public_key
        assert home.key.public_key == journal_kit.key.public_key
        assert home.journal.records() == [record]
        assert home.journal.offline_state().last_sync_time == T0
        assert home.config.check_supervisor_pin(SUPERVISOR_PIN)
        assert not home.config.check_supervisor_pin("1357")
        assert home.journal.audit(home.config.anchors).ok


def test_key_is_encrypted_and_private(terminal_home: TerminalHome, journal_kit: JournalKit) -> None:
    pem = terminal_home.paths.key.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert journal_kit.key.seed() not in pem
    assert stat.S_IMODE(terminal_home.paths.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(terminal_home.paths.data_dir.stat().st_mode) == 0o700


def test_passphrase_missing_or_wrong_is_a_clear_error(
    terminal_home: TerminalHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = terminal_home.paths.data_dir
    terminal_home.close()
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(HomeError, match=PASSPHRASE_ENV):
        TerminalHome.open(data_dir)
    with pytest.raises(HomeError, match="cannot unlock the terminal key"):
        TerminalHome.open(data_dir, passphrase=b"salah")
    TerminalHome.open(data_dir, passphrase=PASSPHRASE.encode()).close()


def test_an_existing_terminal_is_never_overwritten(
    terminal_home: TerminalHome, journal_kit: JournalKit
) -> None:
    data_dir = terminal_home.paths.data_dir
    with pytest.raises(HomeError, match="already set up"):
        TerminalHome.create(data_dir, terminal_config(journal_kit))
    terminal_home.close()
    terminal_home.paths.config.rename(data_dir / "moved.json")
    with pytest.raises(HomeError, match="exists without a config"):
        TerminalHome.create(data_dir, terminal_config(journal_kit))


def test_a_missing_journal_is_reported_not_replaced(terminal_home: TerminalHome) -> None:
    data_dir = terminal_home.paths.data_dir
    terminal_home.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{terminal_home.paths.journal}{suffix}").unlink(missing_ok=True)
    with pytest.raises(HomeError, match=r"journal .* is missing"):
        TerminalHome.open(data_dir)
    assert not terminal_home.paths.journal.exists()


def test_a_deferred_journal_opens_on_first_use_and_says_why_it_cannot(
    terminal_home: TerminalHome, journal_kit: JournalKit
) -> None:
    """The cashier app shows sign-in before SQLAlchemy loads: the home is checked at once (a
    missing journal is still refused there), the journal opens when first used."""
    record = complete(terminal_home.journal, journal_kit.sale())
    data_dir, paths = terminal_home.paths.data_dir, terminal_home.paths
    terminal_home.close()
    with TerminalHome.open(data_dir, defer_journal=True) as home:
        assert home._journal is None
        assert home.journal.records() == [record]
        assert home.journal is home.journal  # opened once
    paths.journal.write_bytes(b"not a database")
    for suffix in ("-wal", "-shm"):
        Path(f"{paths.journal}{suffix}").unlink(missing_ok=True)
    home = TerminalHome.open(data_dir, defer_journal=True)
    with pytest.raises(HomeError, match="cannot open the journal"):
        _ = home.journal
    home.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{paths.journal}{suffix}").unlink(missing_ok=True)
    with pytest.raises(HomeError, match=r"journal .* is missing"):
        TerminalHome.open(data_dir, defer_journal=True)


def test_no_home_and_bad_config_are_clear_errors(
    terminal_home: TerminalHome, tmp_path: Path
) -> None:
    with pytest.raises(HomeError, match="no terminal is set up"):
        TerminalHome.open(tmp_path / "elsewhere")
    terminal_home.close()
    config = json.loads(terminal_home.paths.config.read_text())
    bad_configs = {
        "unknown field": {**config, "max_discount": 5},
        "money as text": {
            **config,
            "risk_limits": {**config["risk_limits"], "max_offline_sale": "300000"},
        },
        "key id not of its key": {
            **config,
            "trust_anchors": {"ca": {"00000000": "11" * 32}, "authority": {}},
        },
        "language": {**config, "receipt_language": "jv"},
    }
    for bad in bad_configs.values():
        terminal_home.paths.config.write_text(json.dumps(bad))
        with pytest.raises(HomeError, match="not a valid terminal config"):
            TerminalHome.open(terminal_home.paths.data_dir)
        terminal_home.paths.config.write_text(json.dumps(config))
        TerminalHome.open(terminal_home.paths.data_dir).close()


def test_the_key_must_be_the_one_the_config_names(
    terminal_home: TerminalHome, journal_kit: JournalKit
) -> None:
    terminal_home.close()
    SigningKey.generate().save(terminal_home.paths.key, PASSPHRASE.encode())
    with pytest.raises(HomeError, match="is not the key named"):
        TerminalHome.open(terminal_home.paths.data_dir)


def test_config_round_trips_and_changes_keep_the_identity(terminal_home: TerminalHome) -> None:
    config = terminal_home.config
    assert TerminalConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    changed = dataclasses.replace(config, printer_url="tcp://192.168.1.50:9100")
    terminal_home.save_config(changed)
    data_dir = terminal_home.paths.data_dir
    terminal_home.close()
    with TerminalHome.open(data_dir) as home:
        assert home.config.printer_url == "tcp://192.168.1.50:9100"
        with pytest.raises(HomeError, match="cannot change the terminal id"):
            home.save_config(dataclasses.replace(changed, terminal_id="SMD-0002"))


def test_data_dir_comes_from_the_option_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert default_data_dir(str(tmp_path / "opt")) == tmp_path / "opt"
    assert default_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv(DATA_DIR_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir(None) == tmp_path / "xdg" / "ssn-terminal"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda c: c["risk_limits"].update(max_offline_sale=True), "risk_limits.max_offline_sale"),
        (lambda c: c["risk_limits"].update(max_offline_hours=-1), "risk_limits.max_offline_hours"),
        (lambda c: c["shop"].update(phone="0812"), "shop.phone"),
        (lambda c: c.pop("split_tender"), "split_tender"),
        (lambda c: c["trust_anchors"]["ca"].update({"00": 1}), "trust_anchors.ca.00"),
        (lambda c: c.update(print_wait_seconds="10"), "print_wait_seconds"),
        (lambda c: c.update(format=2), "config format 2 is not 1"),
    ],
)
def test_a_bad_config_field_is_refused_by_its_name(
    terminal_home: TerminalHome, change: Any, named: str
) -> None:
    """A hand-edited terminal.json says which field is wrong, not just that something is."""
    config = terminal_home.config.to_json()
    change(config)
    with pytest.raises(FormatError, match=re.escape(named)):
        TerminalConfig.from_json(config)
