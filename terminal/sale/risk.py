"""Offline risk limits (R3): how far a terminal sells without hearing from the host."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.journal import OfflineState
from terminal.home import RiskLimits

ONLINE_WINDOW_SECONDS = 15 * 60
"""A terminal that synced this recently counts as online: the per-sale offline cap is lifted."""


@dataclass(frozen=True)
class RiskRefusal:
    reason: str
    """``offline_hours_limit``, ``offline_total_limit`` or ``offline_sale_limit``."""
    limit: int


def check_offline_limits(
    limits: RiskLimits, state: OfflineState, now: int, amount: int
) -> RiskRefusal | None:
    """None if a card sale of ``amount`` rupiah may go ahead now."""
    if state.last_sync_time is None:
        return RiskRefusal("offline_hours_limit", limits.max_offline_hours)
    since_sync = max(0, now - state.last_sync_time)
    if since_sync > limits.max_offline_hours * 3600:
        return RiskRefusal("offline_hours_limit", limits.max_offline_hours)
    if state.card_total_since_sync + amount > limits.max_offline_total:
        return RiskRefusal("offline_total_limit", limits.max_offline_total)
    if since_sync > ONLINE_WINDOW_SECONDS and amount > limits.max_offline_sale:
        return RiskRefusal("offline_sale_limit", limits.max_offline_sale)
    return None


def is_offline(state: OfflineState, now: int) -> bool:
    return state.last_sync_time is None or now - state.last_sync_time > ONLINE_WINDOW_SECONDS
