"""The day's sales per shop and program, kept by ingest so the dashboard need not read the day's
records (tables ``day_sales``, ``day_program_sales``; migration 0011 filled them from the records
held before it).

Counted the way the dashboard always counted: accepted sales and cancellations by the host's
receive day (WITA); their money per program is the card-signed movement at the record's counter
(a sale's debit, less a cancellation's credit). :func:`add` runs in the ingest batch's own
transaction, so the figures commit or roll back with the records, and a record already held is
answered from storage and never counted twice.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from host_gateway.fastsql import Raw

WITA_OFFSET = 8 * 3600
DAY = 86_400


def day_of(received_at: int) -> int:
    """00:00 WITA of the day ``received_at`` falls in (WITA keeps no summer time)."""
    return (received_at + WITA_OFFSET) // DAY * DAY - WITA_OFFSET


_COUNTS = (
    "INSERT INTO day_sales (day, shop_id, sales, voids) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (day, shop_id) DO UPDATE SET sales = day_sales.sales + excluded.sales,"
    " voids = day_sales.voids + excluded.voids"
)
_AMOUNTS = (
    "INSERT INTO day_program_sales (day, shop_id, purse_code, amount) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (day, shop_id, purse_code)"
    " DO UPDATE SET amount = day_program_sales.amount + excluded.amount"
)


def add(
    session: Session,
    received_at: int,
    shop_id: str,
    sales: int,
    voids: int,
    amounts: dict[str, int],
) -> None:
    """Add one batch's accepted sales and cancellations (rows in key order: a shop's batches
    already wait for each other on its account row, so these locks add no waiting)."""
    if not sales and not voids:
        return
    day = day_of(received_at)
    raw = Raw(session)
    raw.execute(_COUNTS, [day, shop_id, sales, voids])
    for code in sorted(amounts):  # a few programs
        raw.execute(_AMOUNTS, [day, shop_id, code, amounts[code]])


_DAY_SQL = "(r.received_at + 28800) / 86400 * 86400 - 28800"
_ACCEPTED = "r.status = 'accepted' AND r.type IN ('sale', 'void')"
COUNTS_FROM_RECORDS = (
    f"SELECT {_DAY_SQL}, t.shop_id,"
    " SUM(CASE WHEN r.type = 'sale' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN r.type = 'void' THEN 1 ELSE 0 END)"
    " FROM records r JOIN terminals t ON t.id = r.terminal_id"
    f" WHERE {_ACCEPTED} GROUP BY {_DAY_SQL}, t.shop_id"
)
AMOUNTS_FROM_RECORDS = (
    f"SELECT {_DAY_SQL}, t.shop_id, p.purse_code, SUM(-p.delta)"
    " FROM records r JOIN terminals t ON t.id = r.terminal_id"
    " JOIN purse_proofs p ON p.card_number = r.card_number AND p.counter = r.card_counter"
    f" WHERE {_ACCEPTED} GROUP BY {_DAY_SQL}, t.shop_id, p.purse_code"
)
"""The figures recomputed from the records and the card-signed movements (what the dashboard
read before these tables; ``check`` compares, migration 0011 filled the tables the same way)."""


def disagreements(session: Session) -> list[str]:
    """Where the kept figures differ from the records (``check``; none, ever, when ingest is
    the only writer). A program whose day nets to zero may be kept or not: both read as 0."""
    raw = Raw(session)
    counts = {(int(d), s): (int(a), int(v)) for d, s, a, v in raw.rows(COUNTS_FROM_RECORDS)}
    kept = {
        (int(d), s): (int(a), int(v))
        for d, s, a, v in raw.rows("SELECT day, shop_id, sales, voids FROM day_sales")
    }
    amounts = {(int(d), s, c): int(a) for d, s, c, a in raw.rows(AMOUNTS_FROM_RECORDS) if a}
    kept_amounts = {
        (int(d), s, c): int(a)
        for d, s, c, a in raw.rows(
            "SELECT day, shop_id, purse_code, amount FROM day_program_sales WHERE amount <> 0"
        )
    }
    found = [
        f"day sales {key}: kept {kept.get(key)}, records say {counts.get(key)}"
        for key in sorted(set(counts) | set(kept))
        if counts.get(key, (0, 0)) != kept.get(key, (0, 0))
    ]
    found.extend(
        f"day sales {key}: kept {kept_amounts.get(key, 0)}, records say {amounts.get(key, 0)}"
        for key in sorted(set(amounts) | set(kept_amounts))
        if amounts.get(key, 0) != kept_amounts.get(key, 0)
    )
    return found
