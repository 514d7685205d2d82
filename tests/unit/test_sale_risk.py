"""Offline risk limits against a terminal clock that reads earlier than what it has already seen
(the last sync's host time, the records committed since): a clock set back must not count as
"just synced"."""

from __future__ import annotations

from terminal.config import RiskLimits
from terminal.journal import OfflineState
from terminal.sale.risk import (
    CLOCK_TOLERANCE_SECONDS,
    RiskRefusal,
    check_offline_limits,
    is_offline,
)
from tests.factories import T0

DAY = 86_400
HOUR = 3600
LIMITS = RiskLimits(max_offline_sale=300_000, max_offline_total=2_000_000, max_offline_hours=72)
OIL_X20 = 20 * 15_700  # above the Rp300,000 offline per-sale cap


def synced_at_t0(last_record_time: int | None = None) -> OfflineState:
    return OfflineState(T0, 0, 0, 0, last_record_time)


def test_clock_set_back_before_the_last_sync_refuses_card_sales() -> None:
    # Without the check this read as "just synced": no hours limit, no per-sale cap.
    behind = T0 - 30 * DAY
    assert check_offline_limits(LIMITS, synced_at_t0(), behind, OIL_X20) == RiskRefusal(
        "clock_behind", 5
    )
    assert check_offline_limits(LIMITS, synced_at_t0(), behind, 15_700) == RiskRefusal(
        "clock_behind", 5
    )
    assert is_offline(synced_at_t0(), behind)


def test_clock_set_back_before_a_record_since_the_sync_refuses() -> None:
    # 70 hours of offline sales, then the clock set back to an hour after the sync: it would
    # have sold 71 more hours.
    state = synced_at_t0(last_record_time=T0 + 70 * HOUR)
    refusal = check_offline_limits(LIMITS, state, T0 + HOUR, 15_700)
    assert refusal is not None and refusal.reason == "clock_behind"


def test_honest_drift_within_the_tolerance_behaves_as_before() -> None:
    drifted = T0 - CLOCK_TOLERANCE_SECONDS
    assert check_offline_limits(LIMITS, synced_at_t0(), drifted, OIL_X20) is None  # just synced
    assert not is_offline(synced_at_t0(), drifted)
    state = synced_at_t0(last_record_time=T0 + HOUR)
    assert check_offline_limits(LIMITS, state, T0 + HOUR - 60, 15_700) is None
    refusal = check_offline_limits(LIMITS, synced_at_t0(), drifted - 1, 15_700)
    assert refusal is not None and refusal.reason == "clock_behind"
    # The other limits still apply as before.
    assert check_offline_limits(LIMITS, synced_at_t0(), T0 + 73 * HOUR, 15_700) == RiskRefusal(
        "offline_hours_limit", 72
    )
