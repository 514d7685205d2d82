"""The running gateway: database, decrypted issuer keys, verifier pool, caches and the clock.

One object carries what every request needs, so the app, the CLI and the tests build it the same
way and nothing global is created at import.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from host_gateway.cards import BLOCK_ORDER_DAYS, renew_block_orders
from host_gateway.db import BUSY_TIMEOUT, make_engine, migrate, session_factory, transaction
from host_gateway.distribution import CatalogCache
from host_gateway.events import RefusalTally
from host_gateway.ingest import Ingestor, VerifierPool
from host_gateway.pki import IssuerKeys, load_issuer_keys
from ledger.verify import business_date


def system_clock() -> int:
    return int(time.time())


@dataclass
class Gateway:
    engine: Engine
    factory: sessionmaker[Session]
    keys: IssuerKeys
    pool: VerifierPool
    ingestor: Ingestor
    clock: Callable[[], int]
    block_order_days: int = BLOCK_ORDER_DAYS
    """Validity of the block orders this gateway signs (hotlist, clones, spoiled issuance)."""
    refusals: RefusalTally = field(default_factory=RefusalTally)
    """Refused unauthenticated requests, counted in memory (host_gateway.events)."""
    _renewed_on: dt.date | None = field(default=None, init=False, repr=False)
    _renew_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(
        cls,
        url: str,
        passphrase: bytes,
        *,
        workers: int | None = None,
        clock: Callable[[], int] = system_clock,
        run_migrations: bool = True,
        block_order_days: int = BLOCK_ORDER_DAYS,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> Gateway:
        engine = make_engine(url, busy_timeout)
        if run_migrations:
            migrate(engine)
        factory = session_factory(engine)
        with transaction(factory) as session:
            keys = load_issuer_keys(session, passphrase)
        pool = VerifierPool(workers)
        catalogs = CatalogCache(keys.anchors.authority_keys)
        ingestor = Ingestor(
            factory, keys, pool, clock, catalogs, block_order_days, busy_timeout=busy_timeout
        )
        return cls(engine, factory, keys, pool, ingestor, clock, block_order_days)

    def renew_block_orders(self, session: Session, now: int) -> None:
        """Renew the block orders of cards still hotlisted that near their end, at most once a
        (WITA) day in this process: asked at every hotlist read, it costs a look at every
        current hotlist entry."""
        today = business_date(now)
        with self._renew_lock:
            if self._renewed_on == today:
                return
            renew_block_orders(session, self.keys, now, valid_days=self.block_order_days)
            self._renewed_on = today

    def close(self) -> None:
        self.pool.close()
        self.engine.dispose()
