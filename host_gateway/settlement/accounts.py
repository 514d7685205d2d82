"""Bank accounts: each shop's (where its payouts go) and Dinas Sosial's giro parent account
(where they come from). Checked when entered, so a payout file never carries a malformed one.

An account is a bank (its BIC, ISO 9362, an Indonesian one), an account number (digits only, as
Indonesian banks number them) and the holder's name as the bank knows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway.errors import GatewayError, not_found
from host_gateway.models import Shop
from host_gateway.settlement.models import GiroAccount, ShopBankAccount

_BIC = re.compile(r"[A-Z]{4}ID[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")
"""The pain.001 schema's BICIdentifier pattern, with the country fixed to Indonesia."""
_NUMBER = re.compile(r"[0-9]{6,20}")
_NAME = re.compile(r"[A-Za-z0-9 .,'()/&-]{1,70}")
"""Letters banks accept in a holder name (pain.001 Max70Text, SWIFT character set)."""


@dataclass(frozen=True)
class BankAccount:
    bic: str
    account_number: str
    holder_name: str


def check(bic: str, account_number: str, holder_name: str) -> BankAccount:
    """The account cleaned up, or a clear error naming the field."""
    bic = bic.strip().upper()
    if not _BIC.fullmatch(bic):
        raise GatewayError("invalid", f"bank {bic!r} is not the BIC of an Indonesian bank")
    number = account_number.replace(" ", "").replace("-", "")
    if not _NUMBER.fullmatch(number):
        raise GatewayError("invalid", "the account number must be 6-20 digits")
    name = " ".join(holder_name.split())
    if not _NAME.fullmatch(name):
        raise GatewayError(
            "invalid", "the holder name must be 1-70 letters, digits, spaces or .,'()/&-"
        )
    return BankAccount(bic, number, name)


def set_shop_account(
    session: Session,
    shop_id: str,
    bic: str,
    account_number: str,
    holder_name: str,
    operator: str,
    now: int,
) -> ShopBankAccount:
    """Enter or change a shop's account; payouts already instructed keep the old one."""
    if session.get(Shop, shop_id) is None:
        raise not_found(f"shop {shop_id}")
    account = check(bic, account_number, holder_name)
    row = session.get(ShopBankAccount, shop_id)
    if row is None:
        row = ShopBankAccount(shop_id=shop_id)
        session.add(row)
    row.bic, row.account_number, row.holder_name = (
        account.bic,
        account.account_number,
        account.holder_name,
    )
    row.updated_at, row.updated_by = now, operator
    session.flush()
    return row


def shop_accounts(session: Session) -> list[ShopBankAccount]:
    return list(session.scalars(select(ShopBankAccount).order_by(ShopBankAccount.shop_id)))


def set_giro(session: Session, bic: str, account_number: str, holder_name: str) -> GiroAccount:
    account = check(bic, account_number, holder_name)
    row = session.get(GiroAccount, 1)
    if row is None:
        row = GiroAccount(id=1)
        session.add(row)
    row.bic, row.account_number, row.holder_name = (
        account.bic,
        account.account_number,
        account.holder_name,
    )
    session.flush()
    return row


def giro(session: Session) -> GiroAccount:
    row = session.get(GiroAccount, 1)
    if row is None:
        raise GatewayError(
            "no_giro", "the giro parent account is not set: ssn-gateway settlement giro ..."
        )
    return row
