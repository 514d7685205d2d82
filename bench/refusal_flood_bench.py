"""A real terminal's signed request while strangers flood the gateway with refused requests.

    .venv/bin/python bench/refusal_flood_bench.py [--clients 30] [--seconds 6]

A real gateway process on SQLite. Floor: the median time of a real terminal's signed
``GET /v1/terminal`` (one nonce write) with nobody else asking, measured in the same run. Then
``--clients`` threads send forged uploads (a foreign key claiming the real terminal's id) for
``--seconds`` while the terminal asks again. Prints JSON: both medians and maxima, their ratio,
the flood's request count and how many event rows it left in the database. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from ledger.crypto import SigningKey
from ledger.request_auth import sign_request
from tests.fixtures.gateway import Served, serve_world


def _timed_requests(served: Served, count: int) -> list[float]:
    client = served.client()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.request("GET", "/v1/terminal")
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    client.close()
    return times


def _flood(base: str, victim: str, stop: threading.Event, sent: list[int]) -> None:
    stranger = SigningKey.generate()
    body = b'{"records": [{"id": "0193a000-0000-7000-8000-000000000001", "data": "AAAA"}]}'
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            headers = sign_request(stranger, victim, "POST", "/v1/records", body, int(time.time()))
            headers["content-type"] = "application/json"
            client.post("/v1/records", content=body, headers=headers)
            sent.append(1)


def _summary(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(times) * 1000, 2),
        "max_ms": round(max(times) * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        database = Path(directory) / "gateway.db"
        server, world = serve_world(f"sqlite:///{database}", Path(directory))
        served = Served(server, world)
        try:
            _timed_requests(served, 20)  # warm up
            alone = _timed_requests(served, 100)
            rows = sqlite3.connect(database).execute("SELECT count(*) FROM events").fetchone()[0]
            stop, sent = threading.Event(), []
            flooders = [
                threading.Thread(
                    target=_flood, args=(server.base_url, world.terminal.terminal_id, stop, sent)
                )
                for _ in range(args.clients)
            ]
            for thread in flooders:
                thread.start()
            under: list[float] = []
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline:
                under += _timed_requests(served, 10)
            stop.set()
            for thread in flooders:
                thread.join()
            after = sqlite3.connect(database).execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            server.stop()
            world.gateway.close()
    result: dict[str, Any] = {
        "clients": args.clients,
        "seconds": args.seconds,
        "floor_alone": _summary(alone),
        "under_flood": _summary(under),
        "ratio_median": round(statistics.median(under) / statistics.median(alone), 2),
        "flood_requests": len(sent),
        "event_rows_written_by_flood": after - rows,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
