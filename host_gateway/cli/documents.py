"""Publishing the signed catalog and the terminal config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from console import UserError, print_json
from host_gateway import distribution
from host_gateway.cli.common import add_common, audit, need_keys, now, session_scope
from host_gateway.errors import GatewayError


def register(subparsers: Any) -> None:
    catalog = subparsers.add_parser("catalog", help="the approved staples").add_subparsers(
        dest="catalog_command", required=True
    )
    publish = catalog.add_parser("publish", help="sign and publish a catalog JSON file")
    add_common(publish)
    publish.add_argument("file", type=Path)
    publish.set_defaults(func=cmd_catalog_publish)

    config = subparsers.add_parser("config", help="terminal config and risk limits")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    cpub = config_sub.add_parser("publish", help="sign and publish a config JSON file")
    add_common(cpub)
    cpub.add_argument("file", type=Path)
    cpub.set_defaults(func=cmd_config_publish)


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} file {path} is not UTF-8 text") from exc
    try:
        return distribution.load_json_file(text, f"{what} file {path}")
    except GatewayError as exc:
        raise UserError(exc.message) from exc


def cmd_catalog_publish(args: argparse.Namespace) -> int:
    content = _read(args.file, "catalog")
    with session_scope(args, with_keys=True) as (session, keys):
        catalog = distribution.publish_catalog(session, need_keys(keys), content, now())
        audit(session, f"catalog publish v{catalog.version}")
        value = {"version": catalog.version, "items": len(catalog.items)}
    if args.json:
        print_json(value)
    else:
        print(f"catalog version {value['version']} published ({value['items']} items)")
    return 0


def cmd_config_publish(args: argparse.Namespace) -> int:
    content = _read(args.file, "config")
    with session_scope(args, with_keys=True) as (session, keys):
        document = distribution.publish_config(session, need_keys(keys), content, now())
        audit(session, f"config publish v{document.version}")
    if args.json:
        print_json({"version": document.version})
    else:
        print(f"config version {document.version} published")
    return 0
