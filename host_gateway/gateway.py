"""The running gateway: database, decrypted issuer keys, verifier pool, caches and the clock.

One object carries what every request needs, so the app, the CLI and the tests build it the same
way and nothing global is created at import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from host_gateway.db import make_engine, migrate, session_factory, transaction
from host_gateway.distribution import CatalogCache
from host_gateway.ingest import Ingestor, VerifierPool
from host_gateway.pki import IssuerKeys, load_issuer_keys


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

    @classmethod
    def open(
        cls,
        url: str,
        passphrase: bytes,
        *,
        workers: int | None = None,
        clock: Callable[[], int] = system_clock,
        run_migrations: bool = True,
    ) -> Gateway:
        engine = make_engine(url)
        if run_migrations:
            migrate(engine)
        factory = session_factory(engine)
        with transaction(factory) as session:
            keys = load_issuer_keys(session, passphrase)
        pool = VerifierPool(workers)
        catalogs = CatalogCache(keys.anchors.authority_keys)
        ingestor = Ingestor(factory, keys, pool, clock, catalogs)
        return cls(engine, factory, keys, pool, ingestor, clock)

    def close(self) -> None:
        self.pool.close()
        self.engine.dispose()
