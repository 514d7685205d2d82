"""What every gateway command shares: where the data is, the passphrase, one transaction.

Data directory: ``--data-dir``, else ``$SSN_GATEWAY_HOME``, else ``~/.local/share/ssn-gateway``.
Database: ``--db URL``, else ``$SSN_GATEWAY_DB``, else SQLite ``gateway.db`` in the data directory.
Passphrase of the issuer keys: ``$SSN_GATEWAY_PASSPHRASE``, else asked on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from console import UserError, print_json
from host_gateway import events
from host_gateway.db import make_engine, schema_is_current, session_factory, transaction
from host_gateway.errors import GatewayError
from host_gateway.pki import IssuerKeys, PkiError, load_issuer_keys
from host_gateway.sealing import SealError

PASSPHRASE_ENV = "SSN_GATEWAY_PASSPHRASE"


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, help="gateway data directory")
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in data dir)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return Path(args.data_dir)
    env = os.environ.get("SSN_GATEWAY_HOME")
    if env:
        return Path(env)
    return Path.home() / ".local" / "share" / "ssn-gateway"


def db_url(args: argparse.Namespace) -> str:
    if args.db:
        return str(args.db)
    env = os.environ.get("SSN_GATEWAY_DB")
    if env:
        return env
    return f"sqlite:///{data_dir(args) / 'gateway.db'}"


def passphrase(confirm: bool = False) -> bytes:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode("utf-8")
    if not sys.stdin.isatty():
        raise UserError(f"set {PASSPHRASE_ENV} or run on a terminal to type the passphrase")
    first = getpass.getpass("Issuer key passphrase: ")
    if not first:
        raise UserError("the passphrase must not be empty")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise UserError("the passphrases differ")
    return first.encode("utf-8")


def now() -> int:
    return int(time.time())


@contextmanager
def database(
    args: argparse.Namespace, *, with_keys: bool = False
) -> Iterator[tuple[sessionmaker[Session], IssuerKeys | None]]:
    """An initialized database (and the issuer keys if asked), for a command that needs more
    than one transaction; service errors become one clear line."""
    url = db_url(args)
    try:
        engine = make_engine(url)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    try:
        try:
            current = schema_is_current(engine)
        except OperationalError as exc:
            raise UserError(f"cannot open database {url}: {exc.orig}") from exc
        if not current:
            raise UserError(f"database {url} is not initialized: run `ssn-gateway init`")
        factory = session_factory(engine)
        keys = None
        if with_keys:
            secret = passphrase()
            with transaction(factory) as session:
                keys = load_issuer_keys(session, secret)
        yield factory, keys
    except GatewayError as exc:
        raise UserError(exc.message) from exc
    except (PkiError, SealError) as exc:
        raise UserError(str(exc)) from exc
    finally:
        engine.dispose()


@contextmanager
def session_scope(
    args: argparse.Namespace, *, with_keys: bool = False
) -> Iterator[tuple[Session, IssuerKeys | None]]:
    """One transaction on an initialized database."""
    with database(args, with_keys=with_keys) as (factory, keys), transaction(factory) as session:
        yield session, keys


def operator() -> str:
    """The OS user who runs the command, named in the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def audit(session: Session, action: str) -> None:
    """Record an operator action with the OS user who ran it, committed with the action."""
    events.audit(session, now(), operator(), action)


def output(args: argparse.Namespace, value: object, text: str) -> int:
    """A command's result: JSON with ``--json``, else the line for people."""
    if args.json:
        print_json(value)
    else:
        print(text)
    return 0


def need_keys(keys: IssuerKeys | None) -> IssuerKeys:
    if keys is None:
        raise UserError("this command needs the issuer keys")
    return keys
