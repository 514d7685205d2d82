"""UNBLOCK PIN: an issuer-signed order gives a PIN-blocked holder their tries back, once.

Attacked the way a dishonest holder or shop would: a replayed order, an order for another card,
an order signed by the wrong key (or for another purpose), an order older than the card's
trusted date, a bare reader sending the APDU, a tear. What counts is what the card holds on disk
and what the terminal is told.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest

from drivers.card.apdu import SW, CommandAPDU
from drivers.card.errors import (
    AuthorizationReplayed,
    CardBlocked,
    InvalidData,
    IssuerSignatureRejected,
    OrderExpired,
    PinBlocked,
    WrongCard,
    WrongPin,
)
from drivers.card.protocol import (
    CLA_PROPRIETARY,
    BlockRequest,
    CardState,
    Commands,
    Ins,
    PinUnblockRequest,
)
from drivers.card.session import CardSession
from drivers.card.transport import CardRemoved
from ledger.binary import FormatError
from ledger.cardproofs import PinUnblockOrder, PinUnblockReceipt
from ledger.crypto import Domain, SigningKey
from simulators.card.card import Fault
from simulators.card.issuance import IssuerKeys
from tests.factories import T0, card_number
from tests.fixtures.card import PIN, TERMINAL, TODAY, DirectCard, debit_request


def block_pin(session: CardSession) -> None:
    for _ in range(3):
        with pytest.raises(WrongPin):
            session.verify_pin("000000")


def order(card: DirectCard, seq: int = 1, issued: dt.date = TODAY, **kw: int) -> PinUnblockOrder:
    return card.issuer.unblock_order(card.number, seq, issued, **kw)


def send(session: CardSession, request: PinUnblockRequest | bytes) -> int:
    data = request.encode() if isinstance(request, PinUnblockRequest) else request
    apdu = CommandAPDU(CLA_PROPRIETARY, Ins.UNBLOCK_PIN, 0, 0, data, le=256)
    answer = session._transport.transmit(apdu.encode())
    return int.from_bytes(answer[-2:], "big")


def test_an_unblock_order_gives_the_holder_their_tries_back(direct_card: DirectCard) -> None:
    session = direct_card.session()
    block_pin(session)
    counter = direct_card.disk().counter
    receipt = session.unblock_pin(PinUnblockRequest(order(direct_card), TERMINAL, T0))
    assert (receipt.unblock_seq, receipt.tries, receipt.counter) == (1, 3, counter)
    assert receipt.verify(direct_card.disk().certificate.public_key)  # type: ignore[union-attr]
    assert session.info is not None and session.info.pin_tries_left == 3
    disk = direct_card.disk()
    assert (disk.pin_tries_left, disk.last_unblock_seq, disk.counter) == (3, 1, counter)
    assert len(disk.log) == counter  # nothing logged: no value moved
    # The holder's own PIN works again, and pays; a wrong one still counts down.
    session = direct_card.session()
    with pytest.raises(WrongPin) as wrong:
        session.verify_pin("000000")
    assert wrong.value.tries_left == 2
    session.verify_pin(PIN)
    assert session.debit(debit_request()).counter == counter + 1


def test_a_replayed_order_gives_no_more_guesses(direct_card: DirectCard) -> None:
    session = direct_card.session()
    block_pin(session)
    request = PinUnblockRequest(order(direct_card, seq=5), TERMINAL, T0)
    session.unblock_pin(request)
    block_pin(direct_card.session())
    session = direct_card.session()
    # The same order again answers its receipt (a terminal that lost it asks again) and
    # resets nothing; an older one is refused.
    again = session.unblock_pin(dataclasses.replace(request, time=T0 + 60))
    assert (again.unblock_seq, again.time) == (5, T0 + 60)
    assert direct_card.disk().pin_tries_left == 0
    with pytest.raises(AuthorizationReplayed):
        session.unblock_pin(PinUnblockRequest(order(direct_card, seq=4), TERMINAL, T0))
    with pytest.raises(PinBlocked):
        session.verify_pin(PIN)
    session.unblock_pin(PinUnblockRequest(order(direct_card, seq=6), TERMINAL, T0))
    assert direct_card.disk().pin_tries_left == 3


def test_only_the_issuers_order_for_this_card(direct_card: DirectCard) -> None:
    session = direct_card.session()
    block_pin(session)
    forged = IssuerKeys(direct_card.issuer.ca, SigningKey.generate())
    with pytest.raises(IssuerSignatureRejected):
        session.unblock_pin(
            PinUnblockRequest(forged.unblock_order(direct_card.number, 1, TODAY), TERMINAL, T0)
        )
    # The card's CA key is not the authority either.
    by_ca = dataclasses.replace(order(direct_card), issuer_key_id=direct_card.issuer.ca.key_id)
    with pytest.raises(IssuerSignatureRejected):
        session.unblock_pin(PinUnblockRequest(by_ca.signed_by(direct_card.issuer.ca), TERMINAL, T0))
    # The authority's signature for another purpose (a card message's domain) is no order.
    unsigned = order(direct_card)
    other_domain = dataclasses.replace(
        unsigned,
        signature=direct_card.issuer.authority.sign(Domain.CARD_TRANSACTION, unsigned.body()),
    )
    with pytest.raises(IssuerSignatureRejected):
        session.unblock_pin(PinUnblockRequest(other_domain, TERMINAL, T0))
    with pytest.raises(WrongCard):
        other = direct_card.issuer.unblock_order(card_number(9), 1, TODAY)
        session.unblock_pin(PinUnblockRequest(other, TERMINAL, T0))
    # A flipped bit in the signed body (more tries than signed) breaks the signature.
    raw = bytearray(PinUnblockRequest(order(direct_card), TERMINAL, T0).encode())
    raw[13] = 9  # the tries byte
    assert send(session, bytes(raw)) == SW.BAD_SIGNATURE
    disk = direct_card.disk()
    assert (disk.pin_tries_left, disk.last_unblock_seq) == (0, 0)


def test_an_order_older_than_the_cards_trusted_date_is_refused(direct_card: DirectCard) -> None:
    session = direct_card.session()
    block_pin(session)
    old = order(direct_card, issued=dt.date(2026, 1, 1))  # valid 30 days; the card saw 2026-11-18
    with pytest.raises(OrderExpired):
        session.unblock_pin(PinUnblockRequest(old, TERMINAL, T0))
    assert direct_card.disk().pin_tries_left == 0


def test_more_tries_than_the_card_allows_is_refused(direct_card: DirectCard) -> None:
    session = direct_card.session()
    block_pin(session)
    with pytest.raises(InvalidData):
        session.unblock_pin(PinUnblockRequest(order(direct_card, tries=4), TERMINAL, T0))
    with pytest.raises(FormatError):
        order(direct_card, tries=0)
    assert direct_card.disk().pin_tries_left == 0


def test_an_issuer_blocked_card_stays_blocked(direct_card: DirectCard) -> None:
    session = direct_card.session()
    block_pin(session)
    block = direct_card.issuer.block_order(direct_card.number, 1, TODAY)
    session.block(BlockRequest(block, TERMINAL, T0))
    with pytest.raises(CardBlocked):
        session.unblock_pin(PinUnblockRequest(order(direct_card), TERMINAL, T0))
    disk = direct_card.disk()
    assert (disk.state, disk.pin_tries_left) == (CardState.BLOCKED, 0)


def test_a_bare_reader_gets_nothing_from_garbage(direct_card: DirectCard) -> None:
    session = direct_card.session()
    block_pin(session)
    good = PinUnblockRequest(order(direct_card), TERMINAL, T0).encode()
    assert send(session, b"") == SW.WRONG_LENGTH
    assert send(session, good[:-1]) == SW.WRONG_DATA
    assert send(session, good + b"\x00") == SW.WRONG_DATA
    assert send(session, bytes(len(good))) == SW.WRONG_DATA
    wrong_p1 = CommandAPDU(CLA_PROPRIETARY, Ins.UNBLOCK_PIN, 1, 0, good, le=256)
    assert session._transport.transmit(wrong_p1.encode())[-2:] == b"\x6a\x86"
    assert direct_card.disk().pin_tries_left == 0
    # The order is the authority, not who relays it: the genuine order works from any reader.
    assert send(session, good) == SW.OK
    assert direct_card.disk().pin_tries_left == 3


@pytest.mark.parametrize("fault", list(Fault))
def test_a_torn_unblock_is_recovered_by_asking_again(direct_card: DirectCard, fault: Fault) -> None:
    session = direct_card.session()
    block_pin(session)
    request = PinUnblockRequest(order(direct_card), TERMINAL, T0)
    direct_card.card.arm(fault, Ins.UNBLOCK_PIN)
    with contextlib.suppress(CardRemoved):
        session.unblock_pin(request)
    assert direct_card.disk().pin_tries_left == (0 if fault is Fault.BEFORE else 3)
    direct_card.reinsert()
    receipt = direct_card.session().unblock_pin(request)
    assert isinstance(receipt, PinUnblockReceipt) and receipt.unblock_seq == 1
    assert direct_card.disk().pin_tries_left == 3


def test_order_layout_vector() -> None:
    authority = SigningKey.from_seed(bytes(range(32)))
    message = PinUnblockOrder(
        card_number="6060010000000011",
        unblock_seq=7,
        tries=3,
        issued=dt.date(2026, 11, 18),
        issuer_key_id=authority.key_id,
        valid_until=dt.date(2026, 12, 18),
    ).signed_by(authority)
    raw = message.encode()
    assert len(raw) == PinUnblockOrder.SIZE == 90
    # kind 12 | card BCD | seq 7 | tries 3 | issued 20261118 | key id | valid until 20261218
    assert raw[:-64].hex() == "1260600100000000110000000703013528fe56475aa701352962"
    assert raw[-64:].hex().startswith("a13cd2b4fbbf8252")  # Ed25519 is deterministic
    assert PinUnblockOrder.decode(raw) == message
    assert message.verify(authority.public_key)
    assert len(Commands.unblock_pin(PinUnblockRequest(message, TERMINAL, T0)).data) == 102
