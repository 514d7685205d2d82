"""The fleet's gateway process: ``ssn-gateway serve`` exactly, but on the fleet's clock.

``python -m simulators.fleet.gateway --db URL --port P --clock FILE`` runs the same server code
(host_gateway.serving, the API app and the console) in its own process, so terminals reach it
over real HTTP; only the clock differs, because the run plays many days in minutes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from host_gateway.cli.common import passphrase
from host_gateway.gateway import Gateway
from host_gateway.serving import serve
from simulators.fleet.clock import FileClock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clock", type=Path, required=True)
    parser.add_argument("--verifiers", type=int, default=1)
    args = parser.parse_args()
    secret = passphrase()
    clock = FileClock(args.clock)

    def open_gateway() -> Gateway:
        return Gateway.open(
            args.db, secret, workers=args.verifiers, clock=clock, run_migrations=False
        )

    return serve(open_gateway, "127.0.0.1", args.port, 1)


if __name__ == "__main__":
    raise SystemExit(main())
