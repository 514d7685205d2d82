"""Settlement figures on PostgreSQL, each next to a floor measured in the same run.

    .venv/bin/python bench/settlement_bench.py [--records 1000000] [--entries 10000]

Settle: close one business day's window over ``--records`` sale records (per shop by program,
held amounts, payouts, the journal entries). The records, their journal entries and lines and the
account balances are **bulk-inserted with SQL** (generate_series), not made through ingest:
ingest has its own bench, and a million signed records through it would take most of an hour.
Floor: one plain aggregate over the same journal lines (sum per shop account).

Reconcile: import a camt.053 of ``--entries`` booked payouts (one per payout item) into the
gateway. Floor: parsing the same file with lxml and walking its entries.

Goals (issue 18): settle 1,000,000 records <= 30 s; reconcile 10,000 entries <= 5 s. Prints
JSON; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lxml import etree
from sqlalchemy import text

from bench.ingest_bench import drop_database, postgres_url
from host_gateway.db import make_engine, migrate, session_factory, transaction
from host_gateway.settlement import accounts, reconcile, windows
from host_gateway.settlement.models import PayoutItem, SettlementWindow
from simulators.bank import messages

DAY = dt.date(2026, 11, 18)
NOON = int(dt.datetime(2026, 11, 18, 12, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
AFTER = NOON + 86_400
SHOPS = 500
GIRO = "0011223344"

_SEED = """
INSERT INTO shops (id, name, kind, created)
  SELECT 'S' || lpad(s::text, 4, '0'), 'Toko ' || s, 'mitra', 0 FROM generate_series(1, {shops}) s;
INSERT INTO shop_bank_accounts (shop_id, bic, account_number, holder_name, updated_at, updated_by)
  SELECT id, 'BRINIDJA', '10' || lpad(substr(id, 2), 8, '0'), name, 0, 'bench' FROM shops;
INSERT INTO records (id, terminal_id, seq, type, content_hash, prev_hash, data, terminal_time,
    received_at, status, code, message, in_chain, card_number, card_counter)
  SELECT decode(md5('r' || i), 'hex'), 'T' || lpad((i % {shops})::text, 7, '0'), i / {shops} + 1,
    'sale', sha256(int8send(i)), sha256(int8send(i - 1)), '\\x00'::bytea,
    {noon} + i % 36000, {noon} + 36000, 'accepted', 'ok', '', true,
    lpad((i % 50000)::text, 16, '0'), i / 50000 + 1
  FROM generate_series(1, {records}) i;
INSERT INTO journal_entries (id, at, kind, record_id, memo)
  SELECT decode(md5('e' || i), 'hex'), {noon} + 36000, 'sale', decode(md5('r' || i), 'hex'), 'ok'
  FROM generate_series(1, {records}) i;
INSERT INTO journal_lines (entry_id, account, amount)
  SELECT decode(md5('e' || i), 'hex'),
    'purse:' || lpad((i % 50000)::text, 16, '0')
      || CASE WHEN i % 4 = 0 THEN ':BZNS' ELSE ':APBD' END,
    70000
  FROM generate_series(1, {records}) i
  UNION ALL
  SELECT decode(md5('e' || i), 'hex'), 'shop:S' || lpad((i % {shops} + 1)::text, 4, '0'), -70000
  FROM generate_series(1, {records}) i;
INSERT INTO accounts (code, kind, balance)
  SELECT account, split_part(account, ':', 1), sum(amount) FROM journal_lines GROUP BY account;
ANALYZE;
"""


def settle(url: str, records: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        migrate(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            for statement in _SEED.format(shops=SHOPS, records=records, noon=NOON).split(";\n"):
                if statement.strip():
                    driver.execute(statement)  # no parameters: ':' and '%' are plain SQL
        seeded = time.perf_counter() - started
        factory = session_factory(engine)
        with transaction(factory) as session:
            started = time.perf_counter()
            session.execute(
                text(
                    "SELECT account, sum(amount) FROM journal_lines"
                    " WHERE substr(account, 1, 5) = 'shop:' GROUP BY account"
                )
            ).all()
            floor = time.perf_counter() - started
        started = time.perf_counter()
        with transaction(factory) as session:
            window = windows.close(session, DAY, "bench", AFTER)
        seconds = time.perf_counter() - started
        assert sum(s.owed for s in window.shops) == 70_000 * records
        assert window.payout_total == 70_000 * records
        return {
            "figure": "settle_window_postgresql",
            "records": records,
            "seed_seconds": round(seeded, 1),
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 2),
            "goal_seconds": 30,
            "met": seconds <= 30,
            "how": "records, journal and balances bulk-inserted via SQL, not through ingest",
        }
    finally:
        engine.dispose()


def reconcile_statement(url: str, entries: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        with transaction(factory) as session:
            accounts.set_giro(session, "BPDKIDJ1", GIRO, "Dinas Sosial")
            window = session.query(SettlementWindow).one()
            session.query(PayoutItem).delete()
            session.add_all(
                PayoutItem(
                    end_to_end_id=f"SSNBENCH{i:08d}",
                    window_id=window.id,
                    shop_id="S0001",
                    amount=70_000,
                    bic="BRINIDJA",
                    account_number="1000000001",
                    holder_name="Toko",
                    status="released",
                    reason="",
                    updated_at=AFTER,
                )
                for i in range(entries)
            )
            session.execute(
                text("UPDATE accounts SET balance = :b WHERE code = 'payout'"),
                {"b": -70_000 * entries},
            )
        movements = [
            messages.Movement(70_000, False, f"SSNBENCH{i:08d}", DAY.isoformat())
            for i in range(entries)
        ]
        at = dt.datetime.fromtimestamp(AFTER, dt.UTC)
        data = messages.camt053("M1", "GIRO-1", 1, at, GIRO, 70_000 * entries, movements)
        started = time.perf_counter()
        root = etree.fromstring(data)
        walked = sum(1 for _ in root.iter("{*}Ntry"))
        floor = time.perf_counter() - started
        assert walked == entries
        started = time.perf_counter()
        with transaction(factory) as session:
            result = reconcile.import_statement(session, data, AFTER)
        seconds = time.perf_counter() - started
        assert len(result.paid) == entries
        return {
            "figure": "reconcile_camt053_postgresql",
            "entries": entries,
            "file_bytes": len(data),
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 2),
            "goal_seconds": 5,
            "met": seconds <= 5,
            "floor": "lxml parse of the same file and a walk over its entries",
        }
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args()
    url, name = postgres_url()
    try:
        figures = [settle(url, args.records), reconcile_statement(url, args.entries)]
    finally:
        drop_database(name)
    print(json.dumps({"load_average": os.getloadavg(), "figures": figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
