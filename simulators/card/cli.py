"""``ssn-sim card ...``: make, inspect, issue and serve simulated Kartu SSN cards.

ssn-sim card new --out card.json              a blank card
ssn-sim card show card.json                   its state as JSON (no secrets)
ssn-sim card issuer-keys --out issuer.json    a test issuer (CA + authority, clear seeds)
ssn-sim card issue card.json --issuer issuer.json --number N --name NAME --pin 1234
                   [--valid-until YYYY-MM-DD] [--load APBD:300000:YYYY-MM-DD ...]
ssn-sim card serve --state card.json [--slot 0] [--control PATH]
ssn-sim card ctl --control PATH status|insert|remove|swap|arm|disarm|latency ...
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

from console import UserError, print_json
from drivers.card.transport import CardError
from ledger.binary import FormatError
from ledger.cardnumber import validate_card_number
from ledger.verify import business_date
from simulators.card.card import Fault, Latency, SimulatedCard
from simulators.card.control import CardService, ControlError, ControlServer, control_call
from simulators.card.direct import DirectReader
from simulators.card.issuance import IssuanceError, IssuerKeys, issue
from simulators.card.state import CardData, CardFileError, describe
from simulators.card.store import CardStore
from simulators.card.vpcd import VPCD_HOST, VpcdError, VpcdSlot

VALID_DAYS = 5 * 365
"""A card issued without ``--valid-until`` is valid this long from the day it is issued."""


def register(subparsers: Any) -> None:
    card = subparsers.add_parser("card", help="simulated Kartu SSN cards")
    commands = card.add_subparsers(dest="card_command", required=True, metavar="ACTION")

    new = commands.add_parser("new", help="make a blank card state file")
    new.add_argument("--out", type=Path, required=True)
    new.add_argument("--force", action="store_true", help="replace an existing file")
    new.set_defaults(func=_new)

    show = commands.add_parser("show", help="print a card's state as JSON")
    show.add_argument("state", type=Path)
    show.set_defaults(func=_show)

    keys = commands.add_parser("issuer-keys", help="make a test issuer key file")
    keys.add_argument("--out", type=Path, required=True)
    keys.set_defaults(func=_issuer_keys)

    issue_ = commands.add_parser("issue", help="personalize a blank card file and load it")
    issue_.add_argument("state", type=Path)
    issue_.add_argument("--issuer", type=Path, required=True, help="file from issuer-keys")
    issue_.add_argument("--number", required=True, help="16-digit card number (Luhn)")
    issue_.add_argument("--name", required=True, help="holder display name")
    issue_.add_argument("--pin", required=True)
    issue_.add_argument(
        "--valid-until",
        type=dt.date.fromisoformat,
        default=None,
        help=f"the card certificate's last day (default: {VALID_DAYS} days from today)",
    )
    issue_.add_argument(
        "--load", action="append", default=[], metavar="PURSE:AMOUNT:EXPIRY", help="repeatable"
    )
    issue_.set_defaults(func=_issue)

    serve = commands.add_parser("serve", help="put a card into a pcscd vpcd slot")
    serve.add_argument("--state", type=Path, required=True)
    serve.add_argument("--slot", type=int, default=0, help="vpcd slot (0: port 35963)")
    serve.add_argument("--host", default=VPCD_HOST)
    serve.add_argument("--port", type=int, default=None, help="override the slot's port")
    serve.add_argument("--control", type=Path, default=None, help="default: <state>.ctl")
    serve.add_argument("--apdu-ms", type=float, default=0.0, help="slow-card latency per APDU")
    serve.add_argument("--crypto-ms", type=float, default=0.0, help="latency per signature")
    serve.add_argument("--removed", action="store_true", help="start with the card removed")
    serve.set_defaults(func=_serve)

    ctl = commands.add_parser("ctl", help="control a running serve")
    ctl.add_argument("--control", type=Path, required=True)
    ops = ctl.add_subparsers(dest="op", required=True, metavar="OP")
    ops.add_parser("status")
    insert = ops.add_parser("insert")
    insert.add_argument("--state", type=Path, default=None, help="insert this card instead")
    ops.add_parser("remove")
    swap = ops.add_parser("swap")
    swap.add_argument("state", type=Path)
    arm = ops.add_parser("arm", help="tear the card at the next (matching) command")
    arm.add_argument("fault", choices=[fault.value for fault in Fault])
    arm.add_argument("--ins", default=None, help="DEBIT, LOAD, ... or hex; default any")
    arm.add_argument("--reinsert-after", type=float, default=None, metavar="SECONDS")
    ops.add_parser("disarm")
    latency = ops.add_parser("latency")
    latency.add_argument("--apdu-ms", type=float, required=True)
    latency.add_argument("--crypto-ms", type=float, required=True)
    ctl.set_defaults(func=_ctl)


def _new(args: argparse.Namespace) -> int:
    try:
        CardStore(args.out).create(CardData.blank(), overwrite=args.force)
    except (CardFileError, OSError) as exc:
        raise UserError(str(exc)) from exc
    print_json({"created": str(args.out), "state": "BLANK"})
    return 0


def _load_data(path: Path) -> CardData:
    try:
        return CardStore(path).load()
    except CardFileError as exc:
        raise UserError(str(exc)) from exc


def _show(args: argparse.Namespace) -> int:
    print_json(describe(_load_data(args.state)))
    return 0


def _issuer_keys(args: argparse.Namespace) -> int:
    keys = IssuerKeys.generate()
    try:
        keys.save(args.out)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror}") from exc
    print_json(
        {
            "created": str(args.out),
            "ca_key_id": keys.ca.key_id.hex(),
            "ca_public_key": keys.ca.public_key.hex(),
            "authority_public_key": keys.authority.public_key.hex(),
        }
    )
    return 0


def _parse_load(text: str) -> tuple[str, int, dt.date]:
    try:
        purse, amount, expiry = text.split(":")
        return purse, int(amount), dt.date.fromisoformat(expiry)
    except ValueError as exc:
        raise UserError(f"--load wants PURSE:AMOUNT:YYYY-MM-DD, got {text!r}") from exc


def _issue(args: argparse.Namespace) -> int:
    loads = tuple(_parse_load(text) for text in args.load)
    now = int(time.time())
    try:
        number = validate_card_number(args.number)
        issuer = IssuerKeys.load(args.issuer)
        card = SimulatedCard.from_file(args.state)
        reader = DirectReader()
        reader.insert(card)
        with reader.connect() as connection:
            certificate, receipts = issue(
                connection,
                issuer,
                number,
                args.name,
                args.pin,
                loads,
                time=now,
                valid_until=args.valid_until or business_date(now) + dt.timedelta(VALID_DAYS),
            )
    except (IssuanceError, CardFileError, CardError, FormatError) as exc:
        raise UserError(f"cannot issue the card: {exc}") from exc
    print_json(
        {
            "card_number": certificate.card_number,
            "valid_until": certificate.valid_until.isoformat(),
            "loads": [{"purse": r.purse_code, "balance": r.balance_after} for r in receipts],
        }
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    latency = Latency(args.apdu_ms / 1000, args.crypto_ms / 1000)
    try:
        card = SimulatedCard.from_file(args.state, latency)
    except CardFileError as exc:
        raise UserError(str(exc)) from exc
    control_path = args.control or args.state.with_name(args.state.name + ".ctl")
    slot = VpcdSlot(args.slot, args.host, args.port)
    service = CardService(slot, card)
    server = ControlServer(control_path, service)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if not args.removed:
            slot.insert(card)
        server.start()
    except (VpcdError, OSError) as exc:
        slot.close()
        raise UserError(str(exc)) from exc
    ready = {"event": "ready", "slot": args.slot, "control": str(control_path)}
    print(json.dumps(ready), flush=True)
    try:
        stop.wait()
    finally:
        server.close()
        slot.close()
    return 0


def _ctl(args: argparse.Namespace) -> int:
    request: dict[str, Any] = {"op": args.op}
    if args.op in ("insert", "swap") and args.state is not None:
        request["state"] = str(args.state)
    elif args.op == "arm":
        request.update(fault=args.fault, ins=args.ins, reinsert_after=args.reinsert_after)
    elif args.op == "latency":
        request.update(apdu_ms=args.apdu_ms, crypto_ms=args.crypto_ms)
    try:
        answer = control_call(args.control, request)
    except ControlError as exc:
        raise UserError(str(exc)) from exc
    print_json(answer)
    return 0
