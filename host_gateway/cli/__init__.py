"""``ssn-gateway``: set up, run and operate the host gateway."""

from __future__ import annotations

from collections.abc import Sequence

from console import build_parser, run

COMMAND_MODULES = [
    "host_gateway.cli.setup",
    "host_gateway.cli.operators",
    "host_gateway.cli.cards",
    "host_gateway.cli.documents",
    "host_gateway.cli.records",
    "host_gateway.cli.continuity",
    "host_gateway.cli.refunds",
    "host_gateway.cli.releases",
    "host_gateway.cli.recipients",
    "host_gateway.cli.programs",
    "host_gateway.cli.audit",
    "host_gateway.cli.users",
    "host_gateway.cli.settlement",
    "host_gateway.cli.partitions",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser("ssn-gateway", "Kartu SSN host gateway.", COMMAND_MODULES)
    return run(parser, argv)
