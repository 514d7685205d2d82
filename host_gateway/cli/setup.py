"""``init``, ``serve``, ``check`` and ``events``: bring the gateway up and prove its books."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from console import UserError, print_json
from host_gateway import distribution, events, partitions
from host_gateway.cards import BLOCK_ORDER_DAYS
from host_gateway.check import CheckReport, run_check
from host_gateway.cli.common import (
    add_common,
    data_dir,
    database,
    db_url,
    now,
    passphrase,
    session_scope,
)
from host_gateway.db import (
    is_read_only_refusal,
    make_engine,
    migrate,
    read_transaction,
    session_factory,
    transaction,
)
from host_gateway.display import rupiah, wita
from host_gateway.pki import create_issuer_keys, keys_exist


def register(subparsers: Any) -> None:
    init = subparsers.add_parser("init", help="create the database and the issuer keys")
    add_common(init)
    init.set_defaults(func=cmd_init)

    serve = subparsers.add_parser("serve", help="run the terminal API and web console")
    add_common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="gateway processes sharing the port (several: use PostgreSQL)",
    )
    serve.add_argument(
        "--verifiers",
        type=int,
        default=None,
        help="signature verifier processes per gateway process (default: cores / workers)",
    )
    serve.add_argument(
        "--block-order-days",
        type=int,
        default=BLOCK_ORDER_DAYS,
        help=f"validity of the block orders it signs (default {BLOCK_ORDER_DAYS})",
    )
    serve.add_argument("--certfile", type=Path, help="serve HTTPS with this PEM certificate")
    serve.add_argument("--keyfile", type=Path, help="the certificate's PEM private key")
    serve.add_argument(
        "--client-timeout",
        type=float,
        help="seconds a client may take for its headers or pause in a body (default 10)",
    )
    serve.set_defaults(func=cmd_serve)

    check = subparsers.add_parser("check", help="prove the journal and shadow balances")
    add_common(check)
    check.set_defaults(func=cmd_check)

    ev = subparsers.add_parser("events", help="refusals and flags, counted by reason")
    add_common(ev)
    ev.add_argument("--recent", type=int, default=0, help="also list the latest N events")
    ev.set_defaults(func=cmd_events)


def initialize(args: argparse.Namespace, secret: list[bytes] | None = None) -> dict[str, Any]:
    """Migrate the schema and create keys and a default config if there are none (idempotent).

    A passphrase typed to create the keys is appended to ``secret`` so it is asked only once."""
    url = db_url(args)
    if url.startswith("sqlite:///"):
        data_dir(args).mkdir(parents=True, exist_ok=True)
    try:
        engine = make_engine(url)
        migrate(engine)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    except OperationalError as exc:
        raise UserError(f"cannot open database {url}: {exc.orig}") from exc
    try:
        with transaction(session_factory(engine)) as session:
            created = not keys_exist(session)
            if created:
                typed = passphrase(confirm=True)
                if secret is not None:
                    secret.append(typed)
                keys = create_issuer_keys(session, typed, now())
                distribution.publish_config(session, keys, distribution.DEFAULT_CONFIG, now())
    finally:
        engine.dispose()
    return {"database": url, "created_keys": created}


def cmd_init(args: argparse.Namespace) -> int:
    result = initialize(args)
    if args.json:
        print_json(result)
    elif result["created_keys"]:
        print(f"initialized {result['database']}: issuer CA and authority keys created")
    else:
        print(f"{result['database']} is up to date; issuer keys already exist")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from host_gateway.api.limits import ClientLimits
    from host_gateway.api.server import ServerOptions
    from host_gateway.gateway import Gateway
    from host_gateway.pki import PkiError
    from host_gateway.serving import serve

    if args.block_order_days < 1:
        raise UserError("--block-order-days must be at least 1")
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    if (args.certfile is None) != (args.keyfile is None):
        raise UserError("--certfile and --keyfile go together")
    if args.client_timeout is not None and args.client_timeout <= 0:
        raise UserError("--client-timeout must be positive")
    limits = (
        ClientLimits() if args.client_timeout is None else ClientLimits.scaled(args.client_timeout)
    )
    options = ServerOptions(limits, args.certfile, args.keyfile)
    typed: list[bytes] = []
    initialize(args, typed)
    with session_scope(args) as (session, _):  # the coming months, before any record arrives
        partitions.ensure(session.connection(), now())
    secret = typed[0] if typed else passphrase()
    verifiers = args.verifiers
    if verifiers is None:
        verifiers = max(1, (os.cpu_count() or 1) // args.workers)

    def open_gateway() -> Gateway:
        return Gateway.open(
            db_url(args),
            secret,
            workers=verifiers,
            block_order_days=args.block_order_days,
            run_migrations=False,  # initialize() did, once, before the processes start
        )

    try:
        open_gateway().close()  # a wrong passphrase is one clear error, before any fork
    except PkiError as exc:
        raise UserError(str(exc)) from exc
    return serve(open_gateway, args.host, args.port, args.workers, options)


def cmd_check(args: argparse.Namespace) -> int:
    with database(args) as (factory, _):
        try:  # as a reader first: an ingest holding the write lock does not hold the check up
            with read_transaction(factory) as session:
                report = run_check(session, now())
        except Exception as exc:  # raw driver writes (bulk_insert) raise the driver's error
            if not is_read_only_refusal(exc):
                raise
            # The check has findings to record (a gap aged, a finding changed): as a writer.
            with transaction(factory) as session:
                report = run_check(session, now())
    if args.json:
        print_json({**report.__dict__, "ok": report.ok})
    else:
        _print_check(report)
    if not report.ok:
        raise UserError(f"check failed: {_first_problem(report)}", exit_code=1)
    if not args.json:
        print("ok")
    return 0


def _print_check(report: CheckReport) -> None:
    print(
        f"journal total {report.journal_total}, {report.entries} entries, "
        f"{report.accounts} accounts, {report.purses_checked} card purses compared"
    )
    for gap in report.gaps:
        age = "AGED " if gap["aged"] else ""
        print(
            f"{age}gap: card {gap['card']} counters {gap['missing']} missing after counter "
            f"{gap['after_counter']} (terminal {gap['terminal'] or '-'}, shop "
            f"{gap['shop'] or '-'}): {gap['changes'] or 'no balance change'}"
        )
    for step in report.mismatches:
        print(
            f"MISMATCH: card {step['card']} counter {step['before_counter']} does not follow "
            f"counter {step['after_counter']}: {step['changes']}"
        )
    for credit in report.unexplained_credits:
        print(
            f"UNEXPLAINED CREDIT: card {credit['card']} {rupiah(credit['amount'])} after counter "
            f"{credit['after_counter']} (terminal {credit['terminal'] or '-'}, shop "
            f"{credit['shop'] or '-'})"
        )
    for debit in report.unrecorded_debits:
        where = debit.get("missing", debit.get("counter"))
        print(
            f"debit no journal holds: card {debit['card']} {rupiah(debit['amount'])} "
            f"at {where} ({debit['source']})"
        )
    for shop, amount in sorted(report.held_by_shop.items()):
        print(f"held from shop {shop}: {rupiah(amount)}")
    for number in report.cards_issuing:
        print(f"card {number} never finished issuance: `cards hotlist {number} --reason 5`")


def _first_problem(report: CheckReport) -> str:
    if report.discrepancies:
        return report.discrepancies[0]
    if report.unexplained_credits:
        credit = report.unexplained_credits[0]
        return (
            f"unexplained credit of {rupiah(credit['amount'])} on card {credit['card']} "
            f"(held from shop {credit['shop'] or '-'})"
        )
    if report.mismatches:
        return f"card {report.mismatches[0]['card']}: balances do not follow between counters"
    gap = report.aged_gaps[0]
    return f"card {gap['card']}: counters {gap['missing']} missing past the alert time"


def cmd_events(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        counts = events.counts(session)
        latest: list[dict[str, Any]] = (
            [
                {
                    "at": e.at,
                    "code": e.code,
                    "terminal": e.terminal_id,
                    "card": e.card_number,
                    "message": e.message,
                }
                for e in events.recent(session, args.recent)
            ]
            if args.recent
            else []
        )
    if args.json:
        print_json({"counts": counts, "recent": latest})
        return 0
    for code, count in counts.items():
        print(f"{count:8d}  {code}")
    for event in latest:
        print(
            f"{wita(event['at'])}  {event['code']:24s} {event['terminal'] or '-':8s} "
            f"{event['message']}"
        )
    return 0
