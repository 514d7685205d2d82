"""The host's own settings, kept in its database so the server and every operator command judge
alike (the signed terminal config is another thing: it goes to terminals)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from host_gateway.errors import GatewayError
from host_gateway.models import GatewaySetting

GAP_ALERT_HOURS = "gap_alert_hours"
SETTLEMENT_CUTOFF = "settlement_cutoff_minutes"

DEFAULTS: dict[str, int] = {GAP_ALERT_HOURS: 48, SETTLEMENT_CUTOFF: 24 * 60}
"""A counter gap open longer than this many hours becomes an alert and fails ``check``. A
business day's settlement window closes this many minutes after its WITA midnight."""
LIMITS: dict[str, tuple[int, int]] = {
    GAP_ALERT_HOURS: (1, 24 * 365),
    SETTLEMENT_CUTOFF: (1, 24 * 60),
}


def get(session: Session, name: str) -> int:
    row = session.get(GatewaySetting, _known(name))
    return DEFAULTS[name] if row is None else int(row.value)


def set_value(session: Session, name: str, value: int) -> None:
    low, high = LIMITS[_known(name)]
    if not low <= value <= high:
        raise GatewayError("invalid", f"{name} must be {low}..{high}, got {value}")
    row = session.get(GatewaySetting, name)
    if row is None:
        session.add(GatewaySetting(name=name, value=value))
    else:
        row.value = value
    session.flush()


def all_values(session: Session) -> dict[str, int]:
    return {name: get(session, name) for name in sorted(DEFAULTS)}


def _known(name: str) -> str:
    if name not in DEFAULTS:
        raise GatewayError("invalid", f"unknown setting {name!r}; known: {sorted(DEFAULTS)}")
    return name
