"""Console dashboard latency on PostgreSQL with a million records, next to its floor.

    .venv/bin/python bench/dashboard_bench.py [--records 1000000] [--runs 40]

Data: a fresh database made by the migrations, filled server-side (generate_series) with
``--records`` accepted records of 720 bytes (a one-line sale's size) over the last 30 days
from 500 terminals at 200 shops, 100,000 cards each with one applied load, their purse accounts
and purse proofs, the day totals ingest keeps for them (host_gateway/day_sales.py), some open
gaps, clone flags and stuck intents. Figure: p95 of the whole page
(``GET /console/`` through the gateway's app in process: session lookup, the dashboard's
queries, the template). Floor: p95 of the dashboard's own queries alone (``dashboard.load``),
measured in the same run, alternating with the page. Goal: page p95 <= 300 ms. Prints JSON;
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient

from host_gateway import day_sales
from host_gateway.db import make_engine, migrate, session_factory, transaction
from host_gateway.web import dashboard, users
from host_gateway.web.app import mount_console

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DAY = 86_400
CARDS, TERMINALS, SHOPS = 100_000, 500, 200
PASSWORD = "bench-password-123"


def fill(conn: psycopg.Connection[Any], records: int, now: int) -> None:
    """Rows shaped like the gateway's own, written by the server (seconds, not minutes)."""
    span = 30 * DAY
    statements = [
        "INSERT INTO shops (id, name, kind, created)"
        f" SELECT 'S' || lpad(i::text, 4, '0'), 'Toko ' || i, 'mitra', {now}"
        f" FROM generate_series(1, {SHOPS}) i",
        "INSERT INTO terminals (id, shop_id, public_key, certificate, issued, valid_until,"
        " last_seen, contiguous_seq) SELECT 'T' || lpad(i::text, 7, '0'),"
        f" 'S' || lpad((i % {SHOPS} + 1)::text, 4, '0'), decode(md5('t' || i) || md5('k' || i),"
        f" 'hex'), '\\x00'::bytea, {now - span}, {now + 700 * DAY},"
        f" {now} - (i * 37) % 7200, 0 FROM generate_series(1, {TERMINALS}) i",
        "INSERT INTO programs (code, name, created) VALUES ('APBD', 'APBD Kota Samarinda', 0)",
        "INSERT INTO cards (number, holder_name, public_key, certificate, valid_until,"
        " status, nik_sealed, created) SELECT '6060' || lpad(i::text, 12, '0'), 'Holder ' || i,"
        " decode(md5('c' || i) || md5('d' || i), 'hex'), '\\x00'::bytea, date '2028-01-01',"
        f" CASE WHEN i % 20000 = 0 THEN 'cloned' ELSE 'active' END, NULL, {now - span}"
        f" FROM generate_series(1, {CARDS}) i",
        'INSERT INTO loads (card_number, load_seq, purse_code, amount, expiry, "authorization",'
        " created, version, applied_record, applied_at) SELECT '6060' || lpad(i::text, 12, '0'), 1,"
        f" 'APBD', 2000000, date '2027-12-31', '\\x00'::bytea, {now - span}, i,"
        f" decode(md5('l' || i), 'hex'), {now - span} FROM generate_series(1, {CARDS}) i",
        "INSERT INTO records (id, terminal_id, seq, type, content_hash, prev_hash, data,"
        " terminal_time, received_at, status, code, message, in_chain, card_number,"
        " card_counter, voids_record) SELECT decode(md5('r' || i), 'hex'),"
        f" 'T' || lpad((i % {TERMINALS} + 1)::text, 7, '0'), i / {TERMINALS} + 1,"
        " CASE WHEN i % 50 = 0 THEN 'void' ELSE 'sale' END, decode(md5('h' || i) || md5('g' ||"
        " i), 'hex'), decode(md5('p' || i) || md5('q' || i), 'hex'),"
        " convert_to(repeat('x', 720), 'UTF8'),"
        f" {now} - ({records} - i) * {span} / {records} - 5,"
        f" {now} - ({records} - i) * {span} / {records}, 'accepted', 'ok', '', true,"
        f" '6060' || lpad((i % {CARDS} + 1)::text, 12, '0'), i / {CARDS} + 2, NULL"
        f" FROM generate_series(0::bigint, {records - 1}) i",
        "INSERT INTO purse_proofs (card_number, counter, purse_code, balance_after, delta)"
        " SELECT '6060' || lpad((i % 100000 + 1)::text, 12, '0'),"
        f" i / {CARDS} + 2, 'APBD', 1000000, CASE WHEN i % 50 = 0 THEN 70000 ELSE -70000 END"
        f" FROM generate_series(0::bigint, {records - 1}) i",
        "INSERT INTO accounts (code, kind, balance)"
        " SELECT 'purse:' || '6060' || lpad(i::text, 12, '0') || ':APBD', 'purse',"
        f" -1000000 FROM generate_series(1, {CARDS}) i",
        "INSERT INTO accounts (code, kind, balance)"
        " SELECT 'shop:S' || lpad(i::text, 4, '0'), 'shop', -5000000"
        f" FROM generate_series(1, {SHOPS}) i",
        "INSERT INTO accounts (code, kind, balance) VALUES ('suspense:APBD', 'suspense', -210000),"
        " ('expired:APBD', 'expired', -50000)",
        "INSERT INTO card_gaps (card_number, after_counter, before_counter, kind, changes,"
        " credit, fall, terminal_id, shop_id, opened_at, alerted_at)"
        " SELECT '6060' || lpad(i::text, 12, '0'), 3, 5, 'gap', 'APBD:+70000',"
        f" CASE WHEN i % 2 = 0 THEN 70000 ELSE 0 END, 0, 'T0000001', 'S0001', {now}, NULL"
        " FROM generate_series(1, 50) i",
        "INSERT INTO stuck_intents (id, terminal_id, card_number, kind, nonce,"
        " expected_counter, amounts, reported_at, closed_at, settled_at, settled_by,"
        " settle_reason) SELECT decode(md5('s' || i), 'hex'), 'T0000001',"
        " '6060' || lpad(i::text, 12, '0'), 'sale', decode(md5('n' || i), 'hex'), 9,"
        " '{\"APBD\": 1}',"
        f" {now}, NULL, NULL, NULL, NULL FROM generate_series(1, 20) i",
    ]
    for statement in statements:
        conn.execute(statement)
    # The day totals ingest would have kept for these records (as migration 0011 fills them).
    conn.execute(
        f"INSERT INTO day_sales (day, shop_id, sales, voids) {day_sales.COUNTS_FROM_RECORDS}"
    )
    conn.execute(
        "INSERT INTO day_program_sales (day, shop_id, purse_code, amount)"
        f" {day_sales.AMOUNTS_FROM_RECORDS}"
    )
    conn.execute("ANALYZE")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    name = f"ssn_bench_dash_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(url)
    try:
        migrate(engine)
        now = int(time.time())
        started = time.perf_counter()
        with psycopg.connect(**PG, dbname=name, autocommit=True) as conn:
            fill(conn, args.records, now)
        filled = time.perf_counter() - started
        factory = session_factory(engine)
        with transaction(factory) as session:
            users.add_user(session, "bench", "auditor", "Bench", "auditor", PASSWORD, now)
        app = FastAPI()
        mount_console(app, factory, lambda: int(time.time()))
        page, floor = [], []
        with TestClient(app, follow_redirects=False) as client:
            form = client.get("/console/masuk")
            token = form.text.split('name="csrf" value="')[1].split('"')[0]
            signed = client.post(
                "/console/masuk",
                data={"username": "auditor", "password": PASSWORD, "csrf": token},
            )
            assert signed.status_code == 303, signed.text
            for run in range(args.runs + 3):
                t0 = time.perf_counter()
                answer = client.get("/console/")
                t1 = time.perf_counter()
                with transaction(factory) as session:
                    data = dashboard.load(session, int(time.time()))
                t2 = time.perf_counter()
                assert answer.status_code == 200
                if run >= 3:  # warm-up: caches, plans
                    page.append((t1 - t0) * 1000)
                    floor.append((t2 - t1) * 1000)
        figure, base = p95(page), p95(floor)
        print(
            json.dumps(
                {
                    "bench": "console dashboard, PostgreSQL",
                    "records": args.records,
                    "records_today": data.sales_count + data.voids_count,
                    "fill_seconds": round(filled, 1),
                    "runs": args.runs,
                    "page_p95_ms": round(figure, 1),
                    "page_median_ms": round(statistics.median(page), 1),
                    "floor_queries_p95_ms": round(base, 1),
                    "ratio_to_floor": round(figure / base, 2),
                    "goal_page_p95_ms": 300,
                    "meets_goal": figure <= 300,
                    "load_average": os.getloadavg()[0],
                },
                indent=2,
            )
        )
    finally:
        engine.dispose()
        with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
