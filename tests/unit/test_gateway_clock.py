"""The terminal's clock is a claim: the host keeps its own time, refuses requests too far off,
and flags (counts in ``ssn-gateway events``) a terminal whose clock drifts or a record that
claims to come from the future. Runs on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import pytest

from host_gateway import events, postings
from host_gateway.api.auth import SKEW_FLAG, SignedRequest, authenticate
from host_gateway.db import transaction
from host_gateway.errors import GatewayError
from host_gateway.ingest.clock import FUTURE_SLACK
from host_gateway.models import Account, StoredRecord, Terminal
from ledger.request_auth import REPLAY_WINDOW, sign_request
from tests.fixtures.gateway import World, load_record


def _request_at(world: World, time: int) -> SignedRequest:
    headers = sign_request(
        world.terminal.key, world.terminal.terminal_id, "GET", "/v1/terminal", b"", time
    )
    return SignedRequest("GET", "/v1/terminal", b"", headers)


def _counts(world: World) -> dict[str, int]:
    with transaction(world.gateway.factory) as session:
        return events.counts(session)


def _terminal_skew(world: World) -> int | None:
    with transaction(world.gateway.factory) as session:
        return session.get_one(Terminal, world.terminal.terminal_id).last_skew


def test_a_drifting_terminal_clock_is_flagged_once_per_crossing(world: World) -> None:
    slow = world.now - (SKEW_FLAG + 30)
    authenticate(world.gateway, _request_at(world, slow))  # still served: within the window
    authenticate(world.gateway, _request_at(world, slow - 5))
    assert _counts(world).get("clock_skew") == 1
    assert _terminal_skew(world) == -(SKEW_FLAG + 35)  # shown by `ssn-gateway terminals list`
    authenticate(world.gateway, _request_at(world, world.now))  # the shop set its clock
    assert _terminal_skew(world) == 0
    authenticate(world.gateway, _request_at(world, world.now + SKEW_FLAG + 1))
    assert _counts(world).get("clock_skew") == 2


def test_a_clock_beyond_the_replay_window_is_refused_with_the_host_time_and_counted(
    world: World,
) -> None:
    with pytest.raises(GatewayError) as refused:
        authenticate(world.gateway, _request_at(world, world.now + REPLAY_WINDOW + 1))
    assert (refused.value.status, refused.value.code) == (401, "clock_skew")
    assert str(world.now) in refused.value.message
    assert world.gateway.refusals.counts() == {"clock_skew": 1}  # in memory: no write
    assert _counts(world).get("clock_skew") is None


def test_a_sale_from_the_future_is_kept_with_the_host_time_and_held(world: World) -> None:
    card = world.funded_card()
    ahead = world.now + 3_600
    sale = world.terminal.sell(card, time=ahead)
    result = world.ingest([sale]).results[0]
    # The card's proof is genuine, so its money is held for an operator, never paid to the shop.
    assert (result.status, result.code, result.stored) == ("rejected", "proof_time_future", True)
    with transaction(world.gateway.factory) as session:
        stored = session.get_one(StoredRecord, (sale.id.bytes, sale.terminal_id))
        assert (stored.terminal_time, stored.received_at) == (ahead, world.now)
        held = session.get_one(Account, postings.suspense("APBD")).balance
    assert held == -70_000
    counts = _counts(world)
    assert counts.get("proof_time_future") == 1 and "record_time_future" not in counts
    drifted = world.terminal.sell(card, time=world.now + FUTURE_SLACK)  # a clock a bit ahead
    on_time = world.terminal.sell(card, time=world.now)
    statuses = [r.status for r in world.ingest([drifted, on_time]).results]
    assert statuses == ["accepted", "accepted"]


def test_a_load_from_the_future_is_applied_and_flagged(world: World) -> None:
    """A load's money comes from what the host authorized, whatever the terminal's clock."""
    card = world.funded_card()
    load = load_record(world.terminal, card, world.authorize(card), time=world.now + 3_600)
    assert world.ingest([load]).results[0].status == "accepted"
    assert _counts(world).get("record_time_future") == 1
