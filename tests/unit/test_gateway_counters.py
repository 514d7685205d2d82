"""Counters stay unique when several gateway processes use them at once, including the very
first use of a counter (which creates its row)."""

from __future__ import annotations

import threading
import time

from host_gateway import counters
from host_gateway.db import make_engine, migrate, session_factory, transaction


def test_first_use_of_a_counter_by_two_sessions_at_once_gives_one_and_two(
    gateway_db_url: str,
) -> None:
    engine = make_engine(gateway_db_url)
    migrate(engine)
    factory = session_factory(engine)
    values: dict[str, int] = {}
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with transaction(factory) as session:
                values["second"] = counters.next_value(session, "race")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    with transaction(factory) as session:
        values["first"] = counters.next_value(session, "race")
        thread.start()
        time.sleep(0.3)  # the second session now waits on the uncommitted first row
    thread.join(timeout=30)
    engine.dispose()
    assert errors == []
    assert sorted(values.values()) == [1, 2]


def test_values_follow_one_another(gateway_db_url: str) -> None:
    engine = make_engine(gateway_db_url)
    migrate(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        got = [counters.next_value(session, "serial") for _ in range(3)]
    with transaction(factory) as session:
        assert counters.current_value(session, "serial") == 3
    engine.dispose()
    assert got == [1, 2, 3]
