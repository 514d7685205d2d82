"""``ssn-terminal init`` (enroll with the gateway) and ``ssn-terminal sync`` (one sync cycle)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from console import UserError, print_json
from ledger.binary import FormatError
from ledger.crypto import SigningKey
from ledger.documents import DocumentError, SignedDocument
from ledger.request_auth import b64decode
from ledger.terminal_cert import CertificateError, TerminalCertificate
from ledger.wire import CONFIG_KIND, KeyBody
from terminal.config import TerminalConfig
from terminal.documents import HostConfig
from terminal.home import (
    TerminalHome,
    add_data_dir_argument,
    default_data_dir,
    passphrase_from_env,
)
from terminal.sync import GatewayClient, Syncer, SyncError, SyncReport, enroll

EXIT_SYNC_FAILED = 3


def register(subparsers: Any) -> None:
    init = subparsers.add_parser("init", help="enroll this terminal with the gateway")
    add_data_dir_argument(init)
    init.add_argument("--gateway", required=True, help="gateway URL, e.g. https://host:8443")
    init.add_argument(
        "--gateway-ca",
        type=Path,
        help="PEM certificate of the CA the gateway's HTTPS certificate chains to (pinned)",
    )
    init.add_argument("--code", required=True, help="the one-time enrollment code")
    init.add_argument("--address", default="", help="shop address for receipts")
    init.add_argument("--json", action="store_true")
    init.set_defaults(func=cmd_init)

    sync = subparsers.add_parser("sync", help="upload the outbox and download updates, once")
    add_data_dir_argument(sync)
    sync.add_argument("--batch", type=int, default=500, help="records per upload")
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(func=cmd_sync)


def _anchor_map(rows: list[KeyBody]) -> dict[bytes, bytes]:
    return {bytes.fromhex(row.key_id): b64decode(row.public_key) for row in rows}


def cmd_init(args: argparse.Namespace) -> int:
    data_dir = default_data_dir(args.data_dir)
    passphrase = passphrase_from_env()  # before the code is spent
    if (data_dir / "terminal.json").exists():
        raise UserError(f"a terminal is already set up in {data_dir}")
    key = SigningKey.generate()
    ca_pem = _read_ca(args.gateway_ca)
    try:
        answer = enroll(args.gateway, args.code, key, ca_pem=ca_pem)
        ca_keys = _anchor_map(answer.anchors.ca)
        authority_keys = _anchor_map(answer.anchors.authority)
        certificate_bytes = b64decode(answer.certificate)
        certificate = TerminalCertificate.decode_verified(certificate_bytes, ca_keys)
        if certificate.public_key != key.public_key:
            raise UserError("the gateway certified another key than this terminal's")
        if answer.config is None:
            raise ValueError("it carries no config document")
        config_bytes = b64decode(answer.config)
        config_doc = SignedDocument.decode_verified(config_bytes, CONFIG_KIND, authority_keys)
        host_config = HostConfig.from_document(config_doc)
    except SyncError as exc:
        raise UserError(str(exc)) from exc
    except (CertificateError, DocumentError, FormatError, KeyError, TypeError, ValueError) as exc:
        raise UserError(f"the gateway's enrollment answer is not acceptable: {exc}") from exc
    config = TerminalConfig(
        terminal_id=certificate.terminal_id,
        shop_name=answer.shop.name,
        shop_address=args.address,
        gateway_url=args.gateway,
        ca_keys=ca_keys,
        authority_keys=authority_keys,
        risk=host_config.risk,
        split_tender=host_config.split_tender,
        terminal_certificate=certificate_bytes,
        gateway_ca=ca_pem,
    )
    home = TerminalHome.create(
        data_dir, config, key=key, passphrase=passphrase, synced_at=answer.host_time
    )
    with home:
        home.journal.put_document(
            CONFIG_KIND, config_doc.version, config_bytes, time=answer.host_time
        )
        report = _sync(home, 500)
    value = {
        "terminal_id": certificate.terminal_id,
        "shop": answer.shop.model_dump(),
        "data_dir": str(data_dir),
        "first_sync": _report_json(report),
    }
    if args.json:
        print_json(value)
    else:
        print(f"terminal {certificate.terminal_id} enrolled for {answer.shop.name}")
        if not report.ok:
            print(f"first sync failed (run `ssn-terminal sync` later): {report.error}")
    return 0


def _read_ca(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the gateway CA {path}: {exc}") from exc


def _sync(home: TerminalHome, batch: int) -> SyncReport:
    config = home.config
    try:
        client = GatewayClient(
            config.gateway_url, config.terminal_id, home.key, ca_pem=config.gateway_ca
        )
    except SyncError as exc:
        return SyncReport(error=str(exc))
    try:
        # The config document the syncer stores is what every operation reads next
        # (Till.host_config): nothing else to apply here.
        return Syncer(home.journal, client, dict(config.authority_keys), batch=batch).run_once()
    finally:
        client.close()


def _report_json(report: SyncReport) -> dict[str, Any]:
    return {**dataclasses.asdict(report), "ok": report.ok}


def cmd_sync(args: argparse.Namespace) -> int:
    if args.batch < 1 or args.batch > 1000:
        raise UserError("--batch must be 1..1000")
    with TerminalHome.open(default_data_dir(args.data_dir)) as home:
        report = _sync(home, args.batch)
    if args.json:
        print_json(_report_json(report))
    else:
        print(
            f"uploaded {report.uploaded}, acknowledged {report.acknowledged} "
            f"(accepted {report.accepted}, rejected {report.rejected}); outbox {report.outbox}"
        )
        for problem in report.problems:
            print(f"  {problem}")
        if report.error:
            print(f"sync failed: {report.error}")
    return 0 if report.ok else EXIT_SYNC_FAILED
