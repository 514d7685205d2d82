"""``ssn-terminal card info``: what the card in the reader says about itself.

Read-only: one SELECT. The card number is masked (S4). With ``--ca-key`` (the issuer CA public
key, hex; repeatable) the card's certificate is checked, otherwise reported as not checked.
Exit codes: 0 card read, 3 pcscd not running, 4 no reader, 5 no card, 6 other card problem.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from console import UserError, print_json
from drivers.card.errors import CardRefused
from drivers.card.protocol import CardInfo
from drivers.card.readers import connected_card
from drivers.card.session import CardSession
from drivers.card.transport import CardError, NoCard, NoReader, PcscdNotRunning
from ledger.cardnumber import mask_card_number
from ledger.crypto import PUBLIC_KEY_SIZE, key_id
from ledger.verify import business_date

EXIT_PCSCD, EXIT_NO_READER, EXIT_NO_CARD, EXIT_CARD = 3, 4, 5, 6


def register(subparsers: Any) -> None:
    card = subparsers.add_parser("card", help="the card reader and the card in it")
    commands = card.add_subparsers(dest="card_command", required=True, metavar="ACTION")
    info = commands.add_parser("info", help="print what the card in the reader says")
    info.add_argument(
        "--reader", default=None, help="reader name, or sim:FILE (default: the first reader)"
    )
    info.add_argument(
        "--ca-key", action="append", default=[], metavar="HEX", help="issuer CA public key"
    )
    info.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait for a card")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=_info)


def _ca_keys(values: list[str]) -> dict[bytes, bytes]:
    keys = {}
    for value in values:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) != PUBLIC_KEY_SIZE:
            raise UserError(f"--ca-key must be a {PUBLIC_KEY_SIZE}-byte public key in hex")
        keys[key_id(raw)] = raw
    return keys


def _info(args: argparse.Namespace) -> int:
    ca_keys = _ca_keys(args.ca_key)
    try:
        with connected_card(args.reader, args.wait) as (name, connection):
            atr = connection.atr
            info = CardSession(connection, ca_keys).select()
    except PcscdNotRunning as exc:
        raise UserError(str(exc), EXIT_PCSCD) from exc
    except NoReader as exc:
        raise UserError(str(exc), EXIT_NO_READER) from exc
    except NoCard as exc:
        raise UserError(str(exc), EXIT_NO_CARD) from exc
    except CardRefused as exc:
        message = f"the card in {name!r} is not a readable Kartu SSN: {exc}"
        raise UserError(message, EXIT_CARD) from exc
    except CardError as exc:
        raise UserError(f"cannot read the card: {exc}", EXIT_CARD) from exc
    today = business_date(int(dt.datetime.now(dt.UTC).timestamp()))
    report = describe(info, name, atr, ca_keys, today)
    if args.json:
        print_json(report)
    else:
        _print_text(report)
    return 0


def certificate_status(info: CardInfo, ca_keys: dict[bytes, bytes], today: dt.date) -> str:
    certificate = info.certificate
    if certificate is None:
        return "none (card not personalized)"
    if not ca_keys:
        return "not checked (no --ca-key given)"
    ca_key = ca_keys.get(certificate.issuer_key_id)
    if ca_key is None:
        return "not genuine: issued by an unknown CA key"
    if not certificate.verify(ca_key):
        return "not genuine: certificate signature does not verify"
    if today > certificate.valid_until:
        return f"expired on {certificate.valid_until.isoformat()}"
    return "valid"


def describe(
    info: CardInfo, reader: str, atr: bytes, ca_keys: dict[bytes, bytes], today: dt.date
) -> dict[str, Any]:
    certificate = info.certificate
    # Only what the card tells any reader: the holder's name, purses and history need the PIN.
    return {
        "reader": reader,
        "atr": atr.hex().upper(),
        "card_number": mask_card_number(certificate.card_number) if certificate else None,
        "state": info.state.name,
        "pin_tries_left": info.pin_tries_left,
        "counter": info.counter,
        "last_load_seq": info.last_load_seq,
        "trusted_date": info.trusted_date.isoformat(),
        "certificate": {
            "valid_until": certificate.valid_until.isoformat() if certificate else None,
            "issuer_key_id": certificate.issuer_key_id.hex() if certificate else None,
            "status": certificate_status(info, ca_keys, today),
        },
    }


def _print_text(report: dict[str, Any]) -> None:
    print(f"Reader:      {report['reader']}")
    print(f"Card:        {report['card_number'] or '(blank card)'}")
    print(f"State:       {report['state']}")
    print(f"Certificate: {report['certificate']['status']}")
    print(f"PIN tries:   {report['pin_tries_left']}")
    print(f"Counter:     {report['counter']}")
    print("Holder, purses and history: only with the holder's PIN (ssn-terminal balance)")
