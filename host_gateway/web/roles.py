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
    RECIPIENTS_VIEW = "recipients_view"
    """The list with NIK masked."""
    RECIPIENTS_IMPORT = "recipients_import"
    NIK_REVEAL = "nik_reveal"
    """One NIK in clear, with a reason, audited."""
    PROGRAMS_VIEW = "programs_view"
    PROGRAMS_DEFINE = "programs_define"
    LOADS_PREPARE = "loads_prepare"
    LOADS_APPROVE = "loads_approve"
    SETTLEMENT_VIEW = "settlement_view"
    """Windows, payouts, the bank's answers, the payout files to download."""
    SETTLEMENT_RUN = "settlement_run"
    """Close a window, prepare its payout, import the bank's files, ask a held sale's release."""
    PAYOUTS_RELEASE = "payouts_release"
    """Release a prepared payout, approve a held sale's release (the host refuses the maker)."""
    CARDS_VIEW = "cards_view"
    CARDS_MANAGE = "cards_manage"
    """Hotlist a card, close it (the recipient leaves), sign a PIN-unblock order."""
    REPORTS_VIEW = "reports_view"
    """The semester report and the catalog."""


_EVERYONE = frozenset(Role)

GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.DASHBOARD: _EVERYONE,
    Permission.SHOPS_VIEW: frozenset({Role.ADMIN, Role.SETTLEMENT, Role.AUDITOR}),
    Permission.SHOPS_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_VIEW: frozenset({Role.ADMIN, Role.AUDITOR}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.RECIPIENTS_VIEW: frozenset(
        {Role.ADMIN, Role.DATA_OFFICER, Role.PROGRAM_OFFICER, Role.AUDITOR}
    ),
    Permission.RECIPIENTS_IMPORT: frozenset({Role.ADMIN, Role.DATA_OFFICER}),
    Permission.NIK_REVEAL: frozenset({Role.ADMIN, Role.DATA_OFFICER}),
    Permission.PROGRAMS_VIEW: frozenset(
        {Role.ADMIN, Role.PROGRAM_OFFICER, Role.APPROVER, Role.AUDITOR}
    ),
    Permission.PROGRAMS_DEFINE: frozenset({Role.ADMIN, Role.PROGRAM_OFFICER}),
    Permission.LOADS_PREPARE: frozenset({Role.ADMIN, Role.PROGRAM_OFFICER}),
    Permission.LOADS_APPROVE: frozenset({Role.ADMIN, Role.APPROVER}),
    Permission.SETTLEMENT_VIEW: frozenset(
        {Role.ADMIN, Role.SETTLEMENT, Role.APPROVER, Role.AUDITOR}
    ),
    Permission.SETTLEMENT_RUN: frozenset({Role.ADMIN, Role.SETTLEMENT}),
    Permission.PAYOUTS_RELEASE: frozenset({Role.ADMIN, Role.APPROVER}),
    Permission.CARDS_VIEW: frozenset({Role.ADMIN, Role.DATA_OFFICER, Role.AUDITOR}),
    Permission.CARDS_MANAGE: frozenset({Role.ADMIN, Role.DATA_OFFICER}),
    Permission.REPORTS_VIEW: _EVERYONE,
}


def allowed(role: str, permission: Permission) -> bool:
    return role in GRANTS[permission]


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise ValueError(f"role must be one of {', '.join(r.value for r in Role)}") from None
