"""The terminal's data directory: its configuration, its key (encrypted at rest), its journal.

Layout of a home (``--data-dir``, else ``$SSN_TERMINAL_HOME``, else
``~/.local/share/ssn-terminal``)::

    terminal.json      TerminalConfig (terminal/config.py; readable JSON, written atomically)
    terminal-key.pem   the terminal's Ed25519 key, PKCS#8 encrypted with $SSN_TERMINAL_PASSPHRASE
    journal.sqlite     the journal (+ -wal, -shm)
    printer*.lock      who may talk to the printer (terminal/receipts/printlock.py)
    print-worker.lock  held by the one print service (``ssn-terminal print --watch``)

Enrollment (``ssn-terminal init``) generates a key, sends its public half to the host, and calls
:meth:`TerminalHome.create` with the configuration the host answered. Every other command calls
:meth:`TerminalHome.open`. A home never silently starts an empty journal: a missing journal is
lost money history and is reported, not replaced.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

from console import UserError
from ledger.binary import FormatError
from ledger.cardproofs import check_terminal_id
from ledger.crypto import KeyFileError, SigningKey
from terminal.config import TerminalConfig

if TYPE_CHECKING:
    # SQLAlchemy behind the journal is a fifth of the cashier app's start-up: imported when a
    # journal is opened, so the sign-in screen shows first (TerminalHome.open(defer_journal)).
    from terminal.journal import Journal

DATA_DIR_ENV = "SSN_TERMINAL_HOME"
PASSPHRASE_ENV = "SSN_TERMINAL_PASSPHRASE"


class HomeError(UserError):
    """The terminal's home cannot be used; the message says what to do."""


def default_data_dir(data_dir: str | Path | None = None) -> Path:
    """``--data-dir`` if given, else ``$SSN_TERMINAL_HOME``, else the user's data directory."""
    if data_dir:
        return Path(data_dir)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ssn-terminal"


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--data-dir`` option every terminal command shares."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"the terminal's data directory (default: ${DATA_DIR_ENV}, else the user's data dir)",
    )


def passphrase_from_env() -> bytes:
    value = os.environ.get(PASSPHRASE_ENV)
    if not value:
        raise HomeError(f"set {PASSPHRASE_ENV} to the passphrase of the terminal key")
    return value.encode()


@dataclass(frozen=True)
class HomePaths:
    data_dir: Path

    @property
    def config(self) -> Path:
        return self.data_dir / "terminal.json"

    @property
    def key(self) -> Path:
        return self.data_dir / "terminal-key.pem"

    @property
    def journal(self) -> Path:
        return self.data_dir / "journal.sqlite"


class TerminalHome:
    """An opened home: the config, the unlocked key and the open journal."""

    def __init__(
        self, paths: HomePaths, config: TerminalConfig, key: SigningKey, journal: Journal | None
    ) -> None:
        self.paths = paths
        self.config = config
        self.key = key
        self._journal = journal
        self._opening = threading.Lock()

    @property
    def journal(self) -> Journal:
        """The journal, opened on first use when the home was opened with ``defer_journal``."""
        if self._journal is None:
            with self._opening:
                if self._journal is None:
                    self._journal = _open_journal(self.paths, self.key, self.config.terminal_id)
        return self._journal

    @classmethod
    def create(
        cls,
        data_dir: Path,
        config: TerminalConfig,
        *,
        key: SigningKey | None = None,
        passphrase: bytes | None = None,
        synced_at: int | None = None,
    ) -> TerminalHome:
        """Set up a new terminal: key (given, or generated), journal, then the config.

        The config is written last, so a setup interrupted half-way leaves no usable home and
        is simply run again. ``synced_at`` marks enrollment as the first contact with the host
        (the offline limits count from there). Refuses to touch an existing terminal.
        """
        paths = HomePaths(Path(data_dir))
        passphrase = passphrase or passphrase_from_env()
        key = key or SigningKey.generate()
        if config.terminal_public_key and config.terminal_public_key != key.public_key:
            raise HomeError("the config names another terminal key than the one given")
        config = dataclasses.replace(config, terminal_public_key=key.public_key)
        try:
            check_terminal_id(config.terminal_id)
            TerminalConfig.from_json(config.to_json())
        except FormatError as exc:
            raise HomeError(f"invalid terminal config: {exc}") from exc
        if paths.config.exists():
            raise HomeError(f"a terminal is already set up in {paths.data_dir}")
        if paths.journal.exists():
            raise HomeError(
                f"{paths.journal} exists without a config (an interrupted setup or a damaged "
                "home): move it away before setting up again"
            )
        paths.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key.save(paths.key, passphrase)
        from terminal.journal import Journal, JournalError

        try:
            journal = Journal.open(paths.journal, key, config.terminal_id, create=True)
            if synced_at is not None:
                journal.mark_synced(synced_at)
        except JournalError as exc:
            raise HomeError(f"cannot create the journal: {exc}") from exc
        try:
            write_atomically(paths.config, _config_bytes(config))
        except BaseException:
            journal.close()
            raise
        return cls(paths, config, key, journal)

    @classmethod
    def open(
        cls, data_dir: Path, *, passphrase: bytes | None = None, defer_journal: bool = False
    ) -> TerminalHome:
        """The home, checked (config, key, journal present). ``defer_journal``: the journal is
        opened on first use (:attr:`journal`), so a screen can show before SQLAlchemy loads; a
        journal that will not open then raises :class:`HomeError` there."""
        paths = HomePaths(Path(data_dir))
        if not paths.config.exists():
            raise HomeError(
                f"no terminal is set up in {paths.data_dir} (run `ssn-terminal init`, "
                f"or point --data-dir / ${DATA_DIR_ENV} at the terminal's data)"
            )
        config = _read_config(paths.config)
        try:
            key = SigningKey.load(paths.key, passphrase or passphrase_from_env())
        except KeyFileError as exc:
            raise HomeError(
                f"cannot unlock the terminal key in {paths.data_dir}: {exc} "
                f"(is {PASSPHRASE_ENV} right?)"
            ) from exc
        if key.public_key != config.terminal_public_key:
            raise HomeError(f"{paths.key} is not the key named in {paths.config}")
        if not paths.journal.exists():
            raise HomeError(
                f"the journal {paths.journal} is missing: the terminal's records are gone. "
                "Restore it from a backup or call the operator; a new one is never started here"
            )
        journal = None if defer_journal else _open_journal(paths, key, config.terminal_id)
        return cls(paths, config, key, journal)

    def save_config(self, config: TerminalConfig) -> None:
        """Replace the settings (printer, limits, ...); the terminal and its key stay."""
        if (config.terminal_id, config.terminal_public_key) != (
            self.config.terminal_id,
            self.config.terminal_public_key,
        ):
            raise HomeError("a config change cannot change the terminal id or key")
        write_atomically(self.paths.config, _config_bytes(config))
        self.config = config

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _open_journal(paths: HomePaths, key: SigningKey, terminal_id: str) -> Journal:
    from terminal.journal import Journal, JournalError

    try:
        return Journal.open(paths.journal, key, terminal_id, create=False)
    except JournalError as exc:
        raise HomeError(f"cannot open the journal: {exc}") from exc


def _config_bytes(config: TerminalConfig) -> bytes:
    return (json.dumps(config.to_json(), indent=2, ensure_ascii=False) + "\n").encode()


def _read_config(path: Path) -> TerminalConfig:
    try:
        value = json.loads(path.read_bytes())
        return TerminalConfig.from_json(value)
    except (OSError, ValueError) as exc:  # FormatError and JSONDecodeError are ValueErrors
        raise HomeError(f"{path} is not a valid terminal config: {exc}") from exc


def write_atomically(path: Path, data: bytes) -> None:
    """Write, fsync, rename, fsync the directory: the old or the new file, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
