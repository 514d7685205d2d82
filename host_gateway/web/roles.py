"""Who may do what in the console. A route names one permission; a role holds a fixed set.

Roles follow the issue: administrator, data officer (recipients, cards), program officer
(programs, loads: prepare), approver (loads and payouts: approve), settlement operator (windows,
payout files, bank files), auditor (read-only). Nothing is granted by default: a permission not
listed for a role is refused, by link, by direct URL and by POST alike.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DATA_OFFICER = "data_officer"
    PROGRAM_OFFICER = "program_officer"
    APPROVER = "approver"
    SETTLEMENT = "settlement"
    AUDITOR = "auditor"


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.DATA_OFFICER: "Petugas data",
    Role.PROGRAM_OFFICER: "Petugas program",
    Role.APPROVER: "Penyetuju",
    Role.SETTLEMENT: "Operator settlement",
    Role.AUDITOR: "Auditor",
}


class Permission(StrEnum):
    DASHBOARD = "dashboard"
    SHOPS_VIEW = "shops_view"
    SHOPS_MANAGE = "shops_manage"
    """Add shops, make enrollment codes, revoke terminals."""
    AUDIT_VIEW = "audit_view"
    USERS_MANAGE = "users_manage"


_EVERYONE = frozenset(Role)

GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.DASHBOARD: _EVERYONE,
    Permission.SHOPS_VIEW: frozenset({Role.ADMIN, Role.SETTLEMENT, Role.AUDITOR}),
    Permission.SHOPS_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_VIEW: frozenset({Role.ADMIN, Role.AUDITOR}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
}


def allowed(role: str, permission: Permission) -> bool:
    return role in GRANTS[permission]


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise ValueError(f"role must be one of {', '.join(r.value for r in Role)}") from None
