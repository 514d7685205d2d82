"""Partner shops (Mitra Bebaya Mart, e-Warong, KUBE) and the programs that fund the purses."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_gateway import counters, postings
from host_gateway.errors import GatewayError
from host_gateway.models import Account, Program, Shop
from ledger.binary import FormatError
from ledger.cardproofs import check_purse_code
from ledger.terminal_cert import check_shop_id

SHOP_KINDS = ("mitra", "ewarong", "kube")
_NAME = re.compile(r"\S.{0,199}", re.DOTALL)


def clean_name(text: str, what: str) -> str:
    text = text.strip()
    if not _NAME.fullmatch(text) or not text.isprintable():
        raise GatewayError("invalid", f"{what} must be 1-200 printable characters")
    return text


def add_shop(session: Session, name: str, kind: str, now: int, shop_id: str | None = None) -> Shop:
    if kind not in SHOP_KINDS:
        raise GatewayError("invalid", f"shop kind must be one of {', '.join(SHOP_KINDS)}")
    if shop_id is None:
        shop_id = f"S{counters.next_value(session, counters.SHOP_NUMBER):04d}"
    try:
        check_shop_id(shop_id)
    except FormatError as exc:
        raise GatewayError("invalid", str(exc)) from exc
    if session.get(Shop, shop_id) is not None:
        raise GatewayError("exists", f"shop {shop_id} already exists", 409)
    shop = Shop(id=shop_id, name=clean_name(name, "shop name"), kind=kind, created=now)
    session.add(shop)
    session.flush()
    return shop


def list_shops(session: Session) -> list[Shop]:
    return list(session.scalars(select(Shop).order_by(Shop.id)))


def add_program(session: Session, code: str, name: str, now: int) -> Program:
    try:
        check_purse_code(code)
    except FormatError as exc:
        raise GatewayError("invalid", str(exc)) from exc
    if session.get(Program, code) is not None:
        raise GatewayError("exists", f"program {code} already exists", 409)
    program = Program(code=code, name=clean_name(name, "program name"), created=now)
    session.add(program)
    session.flush()
    return program


def list_programs(session: Session) -> list[Program]:
    return list(session.scalars(select(Program).order_by(Program.code)))


def payable(session: Session, shop_id: str) -> int:
    """What the host owes the shop for its accepted sales less cancellations (rupiah): the
    credit balance of ``shop:S``. A payout pays this less what is held (``gaps.held_by_shop``)."""
    balance = session.scalar(select(Account.balance).where(Account.code == postings.shop(shop_id)))
    return -int(balance or 0)
