"""Offline risk limits (R3): how far a terminal sells without hearing from the host."""

from __future__ import annotations

from dataclasses import dataclass

from terminal.config import RiskLimits
from terminal.journal import OfflineState

ONLINE_WINDOW_SECONDS = 15 * 60
"""A terminal that synced this recently counts as online: the per-sale offline cap is lifted."""

CLOCK_TOLERANCE_SECONDS = 5 * 60
"""How far the terminal's clock may read behind the last sync (host time) or the last record
committed since, and still be trusted. An honest real-time clock drifts seconds a day; more
than this is a clock set back or reset, and the hours since the sync cannot be known. The same
5 minutes the host allows a request's time (docs/api.md)."""


@dataclass(frozen=True)
class RiskRefusal:
    reason: str
    """``offline_hours_limit``, ``clock_behind``, ``offline_total_limit`` or
    ``offline_sale_limit``."""
    limit: int
    """The limit in the reason's unit (hours, minutes of tolerance, rupiah)."""


def check_offline_limits(
    limits: RiskLimits, state: OfflineState, now: int, amount: int
) -> RiskRefusal | None:
    """None if a card sale of ``amount`` rupiah may go ahead now."""
    if state.last_sync_time is None:
        return RiskRefusal("offline_hours_limit", limits.max_offline_hours)
    if clock_behind(state, now):
        # A clock set back would read as "just synced": no hours limit, no per-sale cap.
        return RiskRefusal("clock_behind", CLOCK_TOLERANCE_SECONDS // 60)
    since_sync = max(0, now - state.last_sync_time)
    if since_sync > limits.max_offline_hours * 3600:
        return RiskRefusal("offline_hours_limit", limits.max_offline_hours)
    if state.card_total_since_sync + amount > limits.max_offline_total:
        return RiskRefusal("offline_total_limit", limits.max_offline_total)
    if since_sync > ONLINE_WINDOW_SECONDS and amount > limits.max_offline_sale:
        return RiskRefusal("offline_sale_limit", limits.max_offline_sale)
    return None


def clock_behind(state: OfflineState, now: int) -> bool:
    """The terminal's clock reads earlier than what it has already seen, beyond honest drift.

    Records from before the last sync do not count: the host's time at that sync supersedes
    them (so a clock that once ran ahead stops mattering at the next sync)."""
    seen = max(state.last_sync_time or 0, state.last_record_time_since_sync or 0)
    return now < seen - CLOCK_TOLERANCE_SECONDS


def is_offline(state: OfflineState, now: int) -> bool:
    """A clock behind beyond tolerance cannot tell how long ago the sync was: offline."""
    if state.last_sync_time is None or clock_behind(state, now):
        return True
    return now - state.last_sync_time > ONLINE_WINDOW_SECONDS
