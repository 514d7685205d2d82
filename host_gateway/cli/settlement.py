"""``settlement`` and ``bank``: windows, payouts (two operators) and the bank's answers, a thin
layer over ``host_gateway/settlement`` (docs/settlement.md). The cut-off is the host setting
``settlement_cutoff_minutes`` (``ssn-gateway settings set``).
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

from console import UserError, print_json
from host_gateway.cli.common import add_common, audit, now, output, session_scope
from host_gateway.display import rupiah
from host_gateway.settlement import (
    accounts,
    daycheck,
    payouts,
    reconcile,
    semester,
    semester_pdf,
    windows,
)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from exc


def register(subparsers: Any) -> None:
    group = subparsers.add_parser(
        "settlement", help="settlement windows and payouts from the giro account"
    ).add_subparsers(dest="settlement_command", required=True)

    def command(name: str, help_text: str, func: Any, day: bool = False) -> Any:
        parser = group.add_parser(name, help=help_text)
        add_common(parser)
        if day:
            parser.add_argument("--date", type=_day, required=True, help="business day (WITA)")
        parser.set_defaults(func=func)
        return parser

    giro = command("giro", "set Dinas Sosial's giro parent account (the payer)", cmd_giro)
    _account_arguments(giro)
    shop = command("shop-account", "enter or change a shop's bank account", cmd_shop_account)
    shop.add_argument("shop")
    _account_arguments(shop)
    shop.add_argument("--operator", required=True)
    command("accounts", "the shops' bank accounts", cmd_accounts)
    close = command("close", "close a business day's window (idempotent)", cmd_close, day=True)
    close.add_argument("--operator", required=True)
    command("show", "a closed window: per shop, by program, held, paid", cmd_show, day=True)
    command("list", "closed windows", cmd_list)
    prepare = command("prepare", "prepare the window's payout file", cmd_prepare, day=True)
    prepare.add_argument("--operator", required=True)
    release = command("release", "approve and release the payout file", cmd_release, day=True)
    release.add_argument("--operator", required=True, help="not who prepared it")
    release.add_argument("--out", type=Path, required=True, help="where to write the pain.001")
    release.add_argument("--csv", type=Path, help="also write the CSV bulk file here")
    again = command("file", "the prepared file again (the same bytes)", cmd_file, day=True)
    again.add_argument("--out", type=Path, required=True)
    again.add_argument("--format", choices=("xml", "csv"), default="xml")

    report = command("report", "the semester report to the mayor: JSON, CSV, PDF", cmd_report)
    report.add_argument("--year", type=int, required=True)
    report.add_argument("--half", type=int, choices=(1, 2), required=True)
    report.add_argument("--out", type=Path, required=True, help="folder for the three files")

    bank = subparsers.add_parser("bank", help="the bank's answers").add_subparsers(
        dest="bank_command", required=True
    )
    imported = bank.add_parser("import", help="import pain.002 reports and camt.053 statements")
    add_common(imported)
    imported.add_argument("files", type=Path, nargs="+")
    imported.set_defaults(func=cmd_import)
    status = bank.add_parser("status", help="giro in the journal vs the bank; open payouts")
    add_common(status)
    status.set_defaults(func=cmd_status)


def _account_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bic", required=True, help="the bank's BIC, e.g. BRINIDJA")
    parser.add_argument("--account", required=True, help="account number")
    parser.add_argument("--holder", required=True, help="holder name as the bank knows it")


def cmd_giro(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        row = accounts.set_giro(session, args.bic, args.account, args.holder)
        audit(session, f"settlement giro {row.bic} {row.account_number}")
        value = {"bic": row.bic, "account": row.account_number, "holder": row.holder_name}
    return output(args, value, f"giro account {value['account']} at {value['bic']}")


def cmd_shop_account(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        row = accounts.set_shop_account(
            session, args.shop, args.bic, args.account, args.holder, args.operator, now()
        )
        audit(session, f"settlement shop-account {row.shop_id} {row.bic} by {args.operator}")
        value = {"shop": row.shop_id, "bic": row.bic, "account": row.account_number}
    return output(args, value, f"shop {value['shop']}: {value['bic']} {value['account']}")


def cmd_accounts(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = [
            {"shop": r.shop_id, "bic": r.bic, "account": r.account_number, "holder": r.holder_name}
            for r in accounts.shop_accounts(session)
        ]
    text = "\n".join(
        f"{r['shop']:<8} {r['bic']:<11} {r['account']:<20} {r['holder']}" for r in rows
    )
    return output(args, rows, text)


def _window_value(window: windows.Window, checks: list[daycheck.TerminalCheck]) -> dict[str, Any]:
    return {
        "date": window.business_date.isoformat(),
        "cutoff": window.cutoff,
        "closed_at": window.closed_at,
        "closed_by": window.closed_by,
        "newly_closed": window.newly_closed,
        "payout_total": window.payout_total,
        "suspense_not_paid": window.suspense,
        "shops": [asdict(s) for s in window.shops],
        "terminals": [asdict(c) for c in checks],
    }


def _window_text(value: dict[str, Any]) -> str:
    lines = [f"window {value['date']}: payouts {rupiah(value['payout_total'])}"]
    for s in value["shops"]:
        programs = ", ".join(f"{p} {rupiah(a)}" for p, a in sorted(s["by_program"].items()))
        lines.append(
            f"  {s['shop_id']:<8} owed {rupiah(s['owed'])} ({programs or '-'}) payable "
            f"{rupiah(s['payable'])} held {rupiah(s['held'])} paid {rupiah(s['payout'])} "
            f"{s['note']}"
        )
    for c in value["terminals"]:
        lines.append(f"  terminal {c['terminal_id']} ({c['shop_id']}): {c['status']} {c['why']}")
    if value["suspense_not_paid"]:
        lines.append(f"  in suspense, not paid: {value['suspense_not_paid']}")
    return "\n".join(lines)


def cmd_close(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        window = windows.close(session, args.date, args.operator, now())
        if window.newly_closed:
            audit(session, f"settlement close {args.date} by {args.operator}")
        value = _window_value(window, daycheck.compare(session, args.date))
    return output(args, value, _window_text(value))


def cmd_show(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        window = windows.load(session, windows.find(session, args.date))
        shops = [s.shop_id for s in window.shops]
        value = _window_value(window, daycheck.compare(session, args.date, shops))
    return output(args, value, _window_text(value))


def cmd_list(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        rows = [
            {"date": w.business_date.isoformat(), "closed_at": w.closed_at, "by": w.closed_by}
            for w in windows.listing(session)
        ]
    return output(args, rows, "\n".join(f"{r['date']} closed by {r['by']}" for r in rows))


def _file_value(made: payouts.PayoutFile) -> dict[str, Any]:
    return {
        "date": made.window.isoformat(),
        "message_id": made.message_id,
        "transfers": made.transfers,
        "total": made.total,
        "prepared_by": made.prepared_by,
        "released_by": made.released_by,
    }


def cmd_prepare(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        made = payouts.prepare(session, args.date, args.operator, now())
        audit(session, f"settlement prepare {args.date} by {args.operator}")
    text = f"payout {made.message_id}: {made.transfers} transfers, {rupiah(made.total)}; another "
    return output(args, _file_value(made), text + "operator releases it")


def cmd_release(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        made = payouts.release(session, args.date, args.operator, now())
        audit(session, f"settlement release {args.date} by {args.operator}")
        _write(args.out, made.xml)  # inside the transaction: no release without its file
        if args.csv is not None:
            _write(args.csv, made.csv)
    return output(args, _file_value(made), f"released: {args.out}")


def cmd_file(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        made = payouts.render(session, args.date)
    _write(args.out, made.xml if args.format == "xml" else made.csv)
    return output(args, _file_value(made), str(args.out))


def cmd_report(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        report = semester.build(session, args.year, args.half)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot make {args.out}: {exc}") from exc
    paths = []
    for name, data in semester_pdf.documents(report).items():
        path = args.out / name
        _write(path, data)
        paths.append(str(path))
    return output(args, {"files": paths}, "\n".join(paths))


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc}") from exc


def cmd_import(args: argparse.Namespace) -> int:
    results = []
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc}") from exc
        with session_scope(args) as (session, _):  # one file, one transaction
            result = reconcile.import_file(session, data, now())
            if not result.duplicate:
                audit(session, f"bank import {result.file_id}")
            books = reconcile.books(session)
        results.append(asdict(result) | {"file": str(path), "books": asdict(books)})
    text = "\n".join(
        f"{r['file']}: {'duplicate, nothing changed' if r['duplicate'] else 'imported'}"
        f" paid {len(r['paid'])} rejected {len(r['rejected'])} {r['discrepancies'] or ''}"
        for r in results
    )
    return output(args, results, text)


def cmd_status(args: argparse.Namespace) -> int:
    with session_scope(args) as (session, _):
        books = reconcile.books(session)
        items = [
            {"id": i.end_to_end_id, "shop": i.shop_id, "amount": i.amount, "status": i.status}
            | ({"reason": i.reason} if i.reason else {})
            for i in payouts.items(session)
        ]
    value = asdict(books) | {"ok": books.ok, "payouts": items}
    if not args.json:
        print(
            f"giro: journal {rupiah(books.giro_journal)}, bank statement "
            f"{'-' if books.giro_bank is None else rupiah(books.giro_bank)}; "
            f"payouts open {rupiah(books.payouts_open)}"
        )
        for item in items:
            amount = rupiah(int(str(item["amount"])))
            print(f"  {item['id']} {item['shop']} {amount} {item['status']}")
    else:
        print_json(value)
    return 0 if books.ok else 1
