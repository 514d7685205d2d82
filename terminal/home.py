"""The terminal's data directory: its configuration, its key (encrypted at rest), its journal.

Layout of a home (``--data-dir``, else ``$SSN_TERMINAL_HOME``, else
``~/.local/share/ssn-terminal``)::

    terminal.json      TerminalConfig (readable JSON, written atomically)
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
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from console import UserError
from ledger.binary import FormatError
from ledger.cardproofs import check_terminal_id
from ledger.crypto import KEY_ID_SIZE, PUBLIC_KEY_SIZE, KeyFileError, SigningKey, key_id
from ledger.verify import TrustAnchors

if TYPE_CHECKING:
    # SQLAlchemy behind the journal is a fifth of the cashier app's start-up: imported when a
    # journal is opened, so the sign-in screen shows first (TerminalHome.open(defer_journal)).
    from terminal.journal import Journal

DATA_DIR_ENV = "SSN_TERMINAL_HOME"
PASSPHRASE_ENV = "SSN_TERMINAL_PASSPHRASE"
CONFIG_FORMAT = 1
LANGUAGES = ("id", "en")
HELD_RECEIPTS = ("hold", "header")
"""What happens to a holder's receipt that missed its own sale: held for a reprint, or printed
later under a header naming its transaction (docs/printing.md)."""
PRINT_WAIT_LIMIT = 120.0
_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1}


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


def hash_pin(pin: str) -> str:
    """A supervisor PIN as stored in the config: salted scrypt, never the PIN itself."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValueError("a PIN is 4 to 8 digits")
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, bytes.fromhex(digest))


@dataclass(frozen=True)
class RiskLimits:
    """How far the terminal sells without the host (R3); beyond them sales are refused."""

    max_offline_sale: int
    """Most rupiah one sale may take from a card while offline."""
    max_offline_total: int
    """Most rupiah of card sales since the last successful sync."""
    max_offline_hours: int
    """Most hours since the last successful sync."""


@dataclass(frozen=True)
class TerminalConfig:
    terminal_id: str
    shop_name: str
    shop_address: str
    gateway_url: str
    ca_keys: Mapping[bytes, bytes]
    """Issuer CA public keys by key id (certify cards and terminals)."""
    authority_keys: Mapping[bytes, bytes]
    """Issuer authority public keys by key id (loads, block orders, catalog, hotlist)."""
    risk: RiskLimits
    split_tender: bool = False
    receipt_language: str = "id"
    printer_url: str | None = None
    reader_name: str | None = None
    scanner_url: str | None = None
    """A serial barcode scanner (``serial:///dev/ttyUSB0?baud=9600``); None: a keyboard wedge
    or none."""
    supervisor_pin_hash: str | None = None
    """From :func:`hash_pin`; None means no supervisor, so no voids on this terminal."""
    print_wait_seconds: float = 10.0
    """How long an operation prints its own receipt in front of the holder before it waits."""
    held_receipts: str = "hold"
    """One of :data:`HELD_RECEIPTS`."""
    terminal_public_key: bytes = b""
    """Filled in by :meth:`TerminalHome.create` from the key."""
    terminal_certificate: bytes | None = None
    """The issuer CA's certificate of the terminal key, from enrollment."""
    gateway_ca: str | None = None
    """PEM of the CA the gateway's HTTPS certificate must chain to, pinned at enrollment."""

    @property
    def anchors(self) -> TrustAnchors:
        return TrustAnchors(ca_keys=dict(self.ca_keys), authority_keys=dict(self.authority_keys))

    def check_supervisor_pin(self, pin: str) -> bool:
        return self.supervisor_pin_hash is not None and check_pin(pin, self.supervisor_pin_hash)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CONFIG_FORMAT,
            "terminal_id": self.terminal_id,
            "terminal_public_key": self.terminal_public_key.hex(),
            "terminal_certificate": _hex_or_none(self.terminal_certificate),
            "shop": {"name": self.shop_name, "address": self.shop_address},
            "gateway_url": self.gateway_url,
            "trust_anchors": {
                "ca": {k.hex(): v.hex() for k, v in self.ca_keys.items()},
                "authority": {k.hex(): v.hex() for k, v in self.authority_keys.items()},
            },
            "risk_limits": dataclasses.asdict(self.risk),
            "split_tender": self.split_tender,
            "receipt_language": self.receipt_language,
            "printer_url": self.printer_url,
            "reader_name": self.reader_name,
            "scanner_url": self.scanner_url,
            "supervisor_pin_hash": self.supervisor_pin_hash,
            "print_wait_seconds": self.print_wait_seconds,
            "held_receipts": self.held_receipts,
            "gateway_ca": self.gateway_ca,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        """Strict: a config with a missing, extra or mistyped field is refused whole."""
        if not isinstance(value, dict):
            raise FormatError("config must be an object")
        found = value.get("format")
        if type(found) is int and found != CONFIG_FORMAT:
            # Another format's fields are not this one's: say that, not the first odd field.
            raise FormatError(f"config format {found!r} is not {CONFIG_FORMAT}")
        try:
            file = _ConfigFile.model_validate(value)
        except ValidationError as exc:
            raise FormatError(_first_error(exc)) from exc
        config = cls(
            terminal_id=check_terminal_id(file.terminal_id),
            shop_name=file.shop.name,
            shop_address=file.shop.address,
            gateway_url=file.gateway_url,
            ca_keys=_keys(file.trust_anchors.ca, "ca"),
            authority_keys=_keys(file.trust_anchors.authority, "authority"),
            risk=RiskLimits(**file.risk_limits.model_dump()),
            split_tender=file.split_tender,
            receipt_language=file.receipt_language,
            printer_url=file.printer_url,
            reader_name=file.reader_name,
            scanner_url=file.scanner_url,
            supervisor_pin_hash=file.supervisor_pin_hash,
            print_wait_seconds=10.0 if file.print_wait_seconds is None else file.print_wait_seconds,
            held_receipts=file.held_receipts or "hold",
            terminal_public_key=_unhex(file.terminal_public_key, "terminal_public_key"),
            terminal_certificate=_optional_unhex(file.terminal_certificate),
            gateway_ca=file.gateway_ca,
        )
        if config.receipt_language not in LANGUAGES:
            raise FormatError(f"receipt_language must be one of {', '.join(LANGUAGES)}")
        if config.held_receipts not in HELD_RECEIPTS:
            raise FormatError(f"held_receipts must be one of {', '.join(HELD_RECEIPTS)}")
        if not 0 < config.print_wait_seconds <= PRINT_WAIT_LIMIT:
            raise FormatError(
                f"print_wait_seconds must be more than 0 and at most {PRINT_WAIT_LIMIT:g}"
            )
        if len(config.terminal_public_key) != PUBLIC_KEY_SIZE:
            raise FormatError("terminal_public_key must be 32 bytes (hex)")
        return config


class _Exact(BaseModel):
    """A part of terminal.json: JSON types only (no "300000" for a number, no true for 1) and
    no unknown field, so a hand edit that does not mean what it says is refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


Count = Annotated[int, Field(ge=0)]


class _Shop(_Exact):
    name: str
    address: str


class _Anchors(_Exact):
    ca: dict[str, str]
    authority: dict[str, str]


class _Risk(_Exact):
    max_offline_sale: Count
    max_offline_total: Count
    max_offline_hours: Count


class _ConfigFile(_Exact):
    """terminal.json as written by :meth:`TerminalConfig.to_json`; fields added after the first
    version (``print_wait_seconds``, ``held_receipts``, ``gateway_ca``) may be absent or null."""

    format: Count
    terminal_id: str
    terminal_public_key: str
    terminal_certificate: str | None = None
    shop: _Shop
    gateway_url: str
    trust_anchors: _Anchors
    risk_limits: _Risk
    split_tender: bool
    receipt_language: str
    printer_url: str | None = None
    reader_name: str | None = None
    scanner_url: str | None = None
    supervisor_pin_hash: str | None = None
    print_wait_seconds: float | None = None
    held_receipts: str | None = None
    gateway_ca: str | None = None


def _first_error(exc: ValidationError) -> str:
    """The first thing wrong, named by its path in the file (``risk_limits.max_offline_sale``)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "config"
    return f"{where}: {first['msg']}"


def _unhex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise FormatError(f"{what} is not hex") from exc


def _optional_unhex(text: str | None) -> bytes | None:
    return None if text is None else _unhex(text, "terminal_certificate")


def _hex_or_none(data: bytes | None) -> str | None:
    return None if data is None else data.hex()


def _keys(value: Mapping[str, str], what: str) -> dict[bytes, bytes]:
    keys = {}
    for kid_hex, key_hex in value.items():
        kid, key = _unhex(kid_hex, "key id"), _unhex(key_hex, "public key")
        if len(kid) != KEY_ID_SIZE or len(key) != PUBLIC_KEY_SIZE or key_id(key) != kid:
            raise FormatError(f"trust_anchors.{what}: {kid_hex} is not the id of its key")
        keys[kid] = key
    return keys


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
