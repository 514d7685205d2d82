"""The card application's rules, command by command, through the in-process reader.

Each test asserts what the terminal sees (typed refusal, status word, signed proof) and what the
card's state file holds afterwards: money is checked on disk, not in memory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from pathlib import Path

import pytest

from drivers.card.apdu import SW, CommandAPDU
from drivers.card.errors import (
    AuthorizationReplayed,
    BalanceLimitExceeded,
    CardBlocked,
    CardTerminated,
    DateBeforeCard,
    InsufficientBalance,
    InvalidData,
    IssuerSignatureRejected,
    NoFreeSlot,
    NotAllowed,
    OrderExpired,
    PinBlocked,
    PinRequired,
    PurseExpired,
    PurseNotFound,
    TransactionNotFound,
    WrongCard,
    WrongPin,
)
from drivers.card.protocol import (
    AID,
    BlockRequest,
    CardInfo,
    CardState,
    Commands,
    LoadRequest,
    Personalization,
    VoidRequest,
)
from drivers.card.session import CardSession
from ledger.cardproofs import CardCertificate, DebitProof, LoadAuthorization, LoadReceipt
from ledger.crypto import SigningKey
from simulators.card.card import SimulatedCard
from simulators.card.issuance import IssuerKeys, block_request
from simulators.card.issuance import load as relay_load
from simulators.card.state import LOG_SIZE
from simulators.card.store import CardStore
from tests.factories import T0, card_number
from tests.fixtures.card import (
    EXPIRY,
    PIN,
    TERMINAL,
    TODAY,
    DirectCard,
    debit_request,
)

DAY = 86_400
NEXT_EXPIRY = dt.date(2027, 1, 31)


def raw(session: CardSession, command: CommandAPDU | bytes) -> tuple[bytes, int]:
    apdu = command.encode() if isinstance(command, CommandAPDU) else command
    answer = session._transport.transmit(apdu)
    return answer[:-2], int.from_bytes(answer[-2:], "big")


def balances(card: DirectCard) -> dict[str, int]:
    return {purse.code: purse.balance for purse in card.disk().purses}


def void_request(original: int, terminal_id: str = TERMINAL) -> VoidRequest:
    return VoidRequest(terminal_id, os.urandom(16), T0 + 60, original)


# --- selection and APDU-level refusals ----------------------------------------------------


def test_select_tells_a_stranger_only_the_public_part(direct_card: DirectCard) -> None:
    session = direct_card.session()
    info = session.info
    assert info is not None
    assert info.state == CardState.ACTIVE
    assert info.card_number == direct_card.number
    assert info.pin_tries_left == 3
    assert info.counter == 2  # two issuance loads
    assert info.trusted_date == TODAY  # the issuance loads were issued today
    # No name, no purses (a BAZNAS purse tells the holder's religion), no quantities.
    answer, sw = raw(session, Commands.select())
    assert sw == SW.OK
    assert b"Siti" not in answer and b"APBD" not in answer and b"BZNS" not in answer
    assert (info.holder_name, info.purses, info.quantities, info.holder_known) == (
        "",
        (),
        (),
        False,
    )
    assert len(Commands.select().encode()) <= 5 + len(AID) + 1


def test_the_right_pin_tells_the_holders_part(direct_card: DirectCard) -> None:
    session = direct_card.session()
    info = session.verify_pin(PIN)
    assert info.holder_known
    assert info.holder_name == "Siti Aminah"
    assert {p.code: p.balance for p in info.purses} == {"APBD": 300_000, "BZNS": 100_000}
    with pytest.raises(WrongPin):
        direct_card.session().verify_pin("000000")


def test_the_log_answers_only_after_the_pin_in_this_session(direct_card: DirectCard) -> None:
    session = direct_card.session()
    for counter in (0, 1, 2):
        assert raw(session, Commands.get_transaction(counter))[1] == SW.PIN_REQUIRED
    session.verify_pin(PIN)
    assert session.get_transaction(2).counter == 2
    session.read_card(TODAY)  # a new session
    assert raw(session, Commands.get_transaction(2))[1] == SW.PIN_REQUIRED


def test_a_blocked_card_tells_nothing_of_its_holder(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.block(block_request(session, direct_card.issuer, 1, T0, TERMINAL))
    with pytest.raises(CardBlocked):
        session.read_card(TODAY)
    answer, sw = raw(session, Commands.verify_pin(PIN))
    assert (answer, sw) == (b"", SW.CARD_BLOCKED)
    assert raw(session, Commands.get_transaction(2))[1] == SW.PIN_REQUIRED


def test_commands_before_select_are_refused(direct_card: DirectCard) -> None:
    session = CardSession(direct_card.connect(), direct_card.issuer.ca_keys)
    assert raw(session, Commands.verify_pin(PIN))[1] == SW.CONDITIONS_NOT_SATISFIED
    assert raw(session, Commands.get_transaction())[1] == SW.CONDITIONS_NOT_SATISFIED


def test_select_of_another_application_deselects(direct_card: DirectCard) -> None:
    session = direct_card.session()
    other = CommandAPDU(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A000000003101001"), le=256)
    assert raw(session, other)[1] == SW.APPLICATION_NOT_FOUND
    assert raw(session, Commands.get_transaction())[1] == SW.CONDITIONS_NOT_SATISFIED


@pytest.mark.parametrize(
    ("apdu", "sw"),
    [
        (bytes.fromhex("84A4040008") + AID, SW.CLA_NOT_SUPPORTED),
        (bytes.fromhex("80A4040008") + AID, SW.CLA_NOT_SUPPORTED),  # SELECT is an ISO command
        (bytes.fromhex("8036000004000000"), SW.WRONG_LENGTH),  # Lc says 4, 3 bytes follow
        (bytes.fromhex("80360000050000000000"), SW.WRONG_LENGTH),  # counter is 4 bytes
        (bytes.fromhex("80FF0000"), SW.INS_NOT_SUPPORTED),
        (bytes.fromhex("0020000108") + bytes(8), SW.WRONG_P1P2),
        (bytes.fromhex("0020"), SW.WRONG_LENGTH),
        (bytes.fromhex("002000800520FFFF"), SW.WRONG_LENGTH),
        (bytes.fromhex("80320000"), SW.WRONG_LENGTH),  # a load needs data
        (bytes.fromhex("8030000003010203"), SW.PIN_REQUIRED),
        (bytes.fromhex("8032000003010203"), SW.WRONG_DATA),
        (bytes.fromhex("80E2000000"), SW.CONDITIONS_NOT_SATISFIED),  # not blank
    ],
)
def test_malformed_or_unknown_commands_get_iso_status_words(
    direct_card: DirectCard, apdu: bytes, sw: int
) -> None:
    session = direct_card.session()
    before = direct_card.disk()
    assert raw(session, apdu) == (b"", sw)
    assert direct_card.disk() == before


# --- PIN --------------------------------------------------------------------------------------


def test_wrong_pins_count_down_and_block_the_pin(direct_card: DirectCard) -> None:
    session = direct_card.session()
    for left in (2, 1, 0):
        with pytest.raises(WrongPin) as wrong:
            session.verify_pin("0000")
        assert wrong.value.tries_left == left
        assert direct_card.disk().pin_tries_left == left
    with pytest.raises(PinBlocked):
        session.verify_pin(PIN)
    with pytest.raises(PinBlocked):
        session.debit(debit_request())
    assert session.pin_status().tries_left == 0
    assert balances(direct_card) == {"APBD": 300_000, "BZNS": 100_000}


def test_right_pin_restores_the_tries(direct_card: DirectCard) -> None:
    session = direct_card.session()
    with pytest.raises(WrongPin):
        session.verify_pin("999999")
    assert session.pin_status().tries_left == 2
    session.verify_pin(PIN)
    assert session.pin_status().verified
    assert direct_card.disk().pin_tries_left == 3


def test_select_clears_a_verified_pin(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    session.read_card(TODAY)
    with pytest.raises(PinRequired):
        session.debit(debit_request())


def test_change_pin(direct_card: DirectCard) -> None:
    session = direct_card.session()
    with pytest.raises(WrongPin):
        session.change_pin("111111", "2468")
    session.change_pin(PIN, "2468")
    session.read_card(TODAY)
    with pytest.raises(WrongPin):
        session.verify_pin(PIN)
    session.verify_pin("2468")
    assert direct_card.disk().pin_tries_left == 3


# --- debit ------------------------------------------------------------------------------------


def test_debit_takes_exactly_the_amounts_and_signs_them(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    request = debit_request((("APBD", 70_000), ("BZNS", 15_700)))
    proof = session.debit(request)
    assert proof.verify(direct_card.card.data.certificate.public_key)  # type: ignore[union-attr]
    assert proof.counter == 3
    assert [(p.code, p.amount, p.balance_after) for p in proof.purses] == [
        ("APBD", 70_000, 230_000),
        ("BZNS", 15_700, 84_300),
    ]
    assert (proof.nonce, proof.basket_digest) == (request.nonce, request.basket_digest)
    disk = direct_card.disk()
    assert balances(direct_card) == {"APBD": 230_000, "BZNS": 84_300}
    assert disk.counter == 3
    assert disk.log[-1].raw == proof.encode()


def test_one_pin_one_debit(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    session.debit(debit_request())
    with pytest.raises(PinRequired):
        session.debit(debit_request())
    assert balances(direct_card)["APBD"] == 230_000


@pytest.mark.parametrize(
    ("amounts", "time", "error"),
    [
        ((("APBD", 300_001),), T0, InsufficientBalance),
        ((("APBD", 1), ("BZNS", 100_001)), T0, InsufficientBalance),
        ((("PKH1", 1_000),), T0, PurseNotFound),
        ((("APBD", 1_000), ("APBD", 1_000)), T0, InvalidData),
        ((("APBD", 0),), T0, InvalidData),
        # 2027-01-01 00:30 WITA is 2026-12-31 16:30 UTC: already past the 2026-12-31 expiry.
        (
            (("APBD", 1_000),),
            int(dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC).timestamp()),
            PurseExpired,
        ),
    ],
)
def test_refused_debits_change_nothing(
    direct_card: DirectCard,
    amounts: tuple[tuple[str, int], ...],
    time: int,
    error: type[Exception],
) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    before = direct_card.disk()
    with pytest.raises(error):
        session.debit(debit_request(amounts, time=time))
    assert direct_card.disk() == before


def test_purse_is_usable_until_the_end_of_its_expiry_day_in_wita(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    last_minute = int(dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC).timestamp())  # 23:59 WITA
    session.debit(debit_request(time=last_minute))
    assert balances(direct_card)["APBD"] == 230_000


def test_quantity_counters_follow_the_wita_month(direct_card: DirectCard) -> None:
    session = direct_card.session()
    nov = T0
    dec = int(dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC).timestamp())  # 08:30 WITA
    steps = [(nov, 5_000, 2611, 5_000), (nov, 2_000, 2611, 7_000), (dec, 1_000, 2612, 1_000)]
    # A terminal whose clock is behind (November) accrues into the stored December counter.
    steps.append((nov, 500, 2612, 1_500))
    for time, grams, period, used in steps:
        session.verify_pin(PIN)
        proof = session.debit(debit_request((("APBD", 100),), ((1, grams),), time=time))
        assert [(q.period, q.quantity, q.used_after) for q in proof.quantities] == [
            (period, grams, used)
        ]
    assert [(q.category, q.period, q.used) for q in direct_card.disk().quantities] == [
        (1, 2612, 1_500)
    ]


def test_quantity_slots_are_reused_only_from_older_periods(direct_card: DirectCard) -> None:
    session = direct_card.session()
    for category in (1, 2, 3, 4):
        session.verify_pin(PIN)
        session.debit(debit_request((("APBD", 100),), ((category, 1),)))
    session.verify_pin(PIN)
    with pytest.raises(NoFreeSlot):
        session.debit(debit_request((("APBD", 100),), ((5, 1),)))
    dec = int(dt.datetime(2026, 12, 2, tzinfo=dt.UTC).timestamp())
    session.verify_pin(PIN)
    proof = session.debit(debit_request((("APBD", 100),), ((5, 7),), time=dec))
    assert [(q.category, q.period, q.used_after) for q in proof.quantities] == [(5, 2612, 7)]


# --- void -------------------------------------------------------------------------------------


def _sale(session: CardSession, amounts: tuple[tuple[str, int], ...]) -> DebitProof:
    session.verify_pin(PIN)
    return session.debit(debit_request(amounts, ((1, 5_000),)))


def test_void_gives_back_exactly_what_the_debit_took(direct_card: DirectCard) -> None:
    session = direct_card.session()
    debit = _sale(session, (("APBD", 70_000), ("BZNS", 20_000)))
    proof = session.void(void_request(debit.counter), debit)  # no PIN needed
    assert proof.original_counter == debit.counter
    assert [(p.code, p.amount, p.balance_after) for p in proof.purses] == [
        ("APBD", 70_000, 300_000),
        ("BZNS", 20_000, 100_000),
    ]
    assert [(q.quantity, q.used_after) for q in proof.quantities] == [(5_000, 0)]
    assert balances(direct_card) == {"APBD": 300_000, "BZNS": 100_000}
    assert direct_card.disk().counter == debit.counter + 1


def test_a_debit_is_cancelled_once_and_only_by_its_terminal(direct_card: DirectCard) -> None:
    session = direct_card.session()
    debit = _sale(session, (("APBD", 70_000),))
    _, sw = raw(session, Commands.void(void_request(debit.counter, terminal_id="SMD-0002")))
    assert sw == SW.CONDITIONS_NOT_SATISFIED
    session.void(void_request(debit.counter))
    for counter in (debit.counter, 1, 99):  # again; a load; nothing
        assert raw(session, Commands.void(void_request(counter)))[1] == (
            SW.CONDITIONS_NOT_SATISFIED
        )
    assert balances(direct_card)["APBD"] == 300_000


def test_a_bare_reader_cannot_void_a_debit_of_an_earlier_session(direct_card: DirectCard) -> None:
    """The attack of the v1 review: the counter and terminal id are on the card's log, a
    reader needs no key, so the holder 'voids' a synced purchase and spends the money again."""
    debit = _sale(direct_card.session(), (("APBD", 70_000),))
    before = direct_card.disk()
    bare = CardSession(direct_card.connect(), direct_card.issuer.ca_keys)  # power-on, new session
    bare.select()
    answer, sw = raw(bare, Commands.void(void_request(debit.counter)))
    assert (answer, sw) == (b"", SW.CONDITIONS_NOT_SATISFIED)
    # Not even with the holder's own PIN in the new session.
    bare.read_card(TODAY)
    bare.verify_pin(PIN)
    assert raw(bare, Commands.void(void_request(debit.counter)))[1] == SW.CONDITIONS_NOT_SATISFIED
    assert direct_card.disk() == before


def test_another_shop_cannot_cancel_a_debit_and_debit_again(direct_card: DirectCard) -> None:
    """v1: shop B, in one presentation, voided shop A's debit (claiming A's terminal id) and
    debited the same amount with a made-up basket. v2: only the debit of this session cancels."""
    debit_a = _sale(direct_card.session(), (("APBD", 70_000),))
    shop_b = direct_card.session()
    assert raw(shop_b, Commands.void(void_request(debit_a.counter)))[1] == (
        SW.CONDITIONS_NOT_SATISFIED
    )
    debit_b = _sale(shop_b, (("APBD", 10_000),))
    # After B's own debit, A's is still not the session's to cancel.
    assert raw(shop_b, Commands.void(void_request(debit_a.counter)))[1] == (
        SW.CONDITIONS_NOT_SATISFIED
    )
    assert balances(direct_card)["APBD"] == 300_000 - 70_000 - 10_000
    assert debit_b.counter == debit_a.counter + 1


def test_only_the_last_debit_of_the_session_cancels(direct_card: DirectCard) -> None:
    session = direct_card.session()
    first = _sale(session, (("APBD", 1_000),))
    second = _sale(session, (("APBD", 2_000),))
    assert raw(session, Commands.void(void_request(first.counter)))[1] == (
        SW.CONDITIONS_NOT_SATISFIED
    )
    relay_load(session, _auth(direct_card, 3, amount=1), T0)  # anything after ends the chance
    assert raw(session, Commands.void(void_request(second.counter)))[1] == (
        SW.CONDITIONS_NOT_SATISFIED
    )
    assert balances(direct_card)["APBD"] == 300_000 - 3_000 + 1


def test_cancel_after_a_month_turn_leaves_that_months_quantities(direct_card: DirectCard) -> None:
    session = direct_card.session()
    _sale(session, (("APBD", 1_000),))
    dec = int(dt.datetime(2026, 12, 3, tzinfo=dt.UTC).timestamp())
    session.verify_pin(PIN)
    debit = session.debit(debit_request((("APBD", 1_000),), ((1, 3_000),), time=dec))
    proof = session.void(void_request(debit.counter))
    assert [(q.period, q.used_after) for q in proof.quantities] == [(2612, 0)]
    assert [(q.period, q.used) for q in direct_card.disk().quantities] == [(2612, 0)]
    assert balances(direct_card)["APBD"] == 299_000


# --- load -------------------------------------------------------------------------------------


def _auth(
    card: DirectCard,
    seq: int,
    purse: str = "APBD",
    amount: int = 50_000,
    expiry: dt.date = EXPIRY,
    issued: dt.date = dt.date(2026, 11, 1),
) -> LoadAuthorization:
    return card.issuer.authorize_load(card.number, seq, purse, amount, expiry, issued)


def test_load_credits_and_opens_new_purses(direct_card: DirectCard) -> None:
    session = direct_card.session()
    receipt = relay_load(
        session, _auth(direct_card, 3, "APBD", 50_000, expiry=dt.date(2027, 1, 31)), T0
    )
    assert (receipt.balance_after, receipt.expired_swept, receipt.load_seq) == (350_000, 0, 3)
    relay_load(session, _auth(direct_card, 4, "CSR1", 25_000), T0)
    disk = direct_card.disk()
    assert {(p.code, p.balance, p.expiry) for p in disk.purses} == {
        ("APBD", 350_000, dt.date(2027, 1, 31)),
        ("BZNS", 100_000, EXPIRY),
        ("CSR1", 25_000, EXPIRY),
    }
    assert (disk.last_load_seq, disk.counter) == (4, 4)


def test_each_load_is_used_once_in_any_order(direct_card: DirectCard) -> None:
    """v1 refused load N once N+1 was applied, so N was lost for good; the card now remembers
    the 32 loads below its newest, and each applies once."""
    session = direct_card.session()
    relay_load(session, _auth(direct_card, 5), T0)
    relay_load(session, _auth(direct_card, 4), T0)  # relayed late: still credits, once
    before = direct_card.disk()
    for seq in (5, 4, 2, 0):
        with pytest.raises(AuthorizationReplayed):
            relay_load(session, _auth(direct_card, seq), T0)
    assert direct_card.disk() == before
    relay_load(session, _auth(direct_card, 3), T0)
    relay_load(session, _auth(direct_card, 40), T0)
    with pytest.raises(AuthorizationReplayed):
        relay_load(session, _auth(direct_card, 7), T0)  # past the 32-load window
    relay_load(session, _auth(direct_card, 8), T0)
    assert balances(direct_card)["APBD"] == 300_000 + 5 * 50_000


def test_loads_not_signed_by_our_authority_are_refused(direct_card: DirectCard) -> None:
    session = direct_card.session()
    forged = IssuerKeys(direct_card.issuer.ca, SigningKey.generate())
    bad_key = forged.authorize_load(direct_card.number, 3, "APBD", 10**6, EXPIRY, TODAY)
    auth = _auth(direct_card, 3)
    inflated = dataclasses.replace(auth, amount=auth.amount * 10)
    other_card = direct_card.issuer.authorize_load(card_number(2), 3, "APBD", 1, EXPIRY, TODAY)
    before = direct_card.disk()
    for bad, error in (
        (bad_key, IssuerSignatureRejected),
        (inflated, IssuerSignatureRejected),
        (other_card, WrongCard),
    ):
        with pytest.raises(error):
            relay_load(session, bad, T0)
    with pytest.raises(InvalidData):
        relay_load(session, _auth(direct_card, 3, amount=0), T0)
    assert direct_card.disk() == before


def test_fifth_purse_and_balance_limit(direct_card: DirectCard) -> None:
    session = direct_card.session()
    relay_load(session, _auth(direct_card, 3, "CSR1", 1), T0)
    relay_load(session, _auth(direct_card, 4, "CSR2", 1), T0)
    with pytest.raises(NoFreeSlot):
        relay_load(session, _auth(direct_card, 5, "CSR3", 1), T0)
    with pytest.raises(BalanceLimitExceeded):
        relay_load(session, _auth(direct_card, 5, "APBD", 9_700_001), T0)
    relay_load(session, _auth(direct_card, 5, "APBD", 9_700_000), T0)
    assert balances(direct_card)["APBD"] == 10_000_000


def test_an_expired_purse_is_swept_before_the_next_load(direct_card: DirectCard) -> None:
    session = direct_card.session()
    receipt = relay_load(
        session,
        _auth(
            direct_card, 3, "BZNS", 40_000, issued=dt.date(2027, 1, 2), expiry=dt.date(2027, 1, 31)
        ),
        T0,
    )
    assert (receipt.expired_swept, receipt.balance_after) == (100_000, 40_000)
    assert direct_card.disk().trusted_date == dt.date(2027, 1, 2)


def test_a_purse_is_not_swept_before_its_expiry(direct_card: DirectCard) -> None:
    receipt = relay_load(direct_card.session(), _auth(direct_card, 3, "APBD", 1, issued=EXPIRY), T0)
    assert (receipt.expired_swept, receipt.balance_after) == (0, 300_001)


def test_an_old_load_relayed_late_does_not_revive_expired_value(direct_card: DirectCard) -> None:
    """v1 judged expiry on the authorization's own issue date: an old load applied after the
    purse expired kept the expired balance alive under the new expiry."""
    session = direct_card.session()
    relay_load(session, _auth(direct_card, 4, "BZNS", 1, NEXT_EXPIRY, dt.date(2027, 1, 2)), T0)
    late = _auth(direct_card, 3, "APBD", 50_000, issued=dt.date(2026, 12, 1))
    late = dataclasses.replace(late, expiry=dt.date(2027, 2, 28), signature=b"")
    receipt = relay_load(session, late.signed_by(direct_card.issuer.authority), T0)
    assert (receipt.expired_swept, receipt.balance_after) == (300_000, 50_000)


def test_a_load_already_expired_on_the_cards_date_is_refused(direct_card: DirectCard) -> None:
    session = direct_card.session()
    relay_load(session, _auth(direct_card, 4, "BZNS", 1, NEXT_EXPIRY, dt.date(2027, 1, 2)), T0)
    before = direct_card.disk()
    with pytest.raises(PurseExpired):
        relay_load(session, _auth(direct_card, 3, "APBD", 50_000, issued=TODAY), T0)
    assert direct_card.disk() == before


def test_debits_dated_before_the_issuers_latest_date_are_refused(direct_card: DirectCard) -> None:
    """A terminal clock set back cannot go behind what the issuer already said the date is."""
    session = direct_card.session()
    session.verify_pin(PIN)
    yesterday = T0 - DAY
    with pytest.raises(DateBeforeCard):
        session.debit(debit_request(time=yesterday))
    assert balances(direct_card)["APBD"] == 300_000
    session.verify_pin(PIN)
    session.debit(debit_request(time=T0))


# --- log --------------------------------------------------------------------------------------


def test_get_transaction_returns_signed_logged_messages(direct_card: DirectCard) -> None:
    session = direct_card.session()
    session.verify_pin(PIN)
    assert isinstance(session.get_transaction(), LoadReceipt)
    debit = _sale(session, (("APBD", 1_000),))
    assert session.get_transaction() == debit
    assert session.get_transaction(debit.counter) == debit
    assert session.get_transaction(1).counter == 1
    with pytest.raises(TransactionNotFound):
        session.get_transaction(debit.counter + 1)


def test_the_log_keeps_the_last_sixteen(direct_card: DirectCard) -> None:
    session = direct_card.session()
    for _ in range(LOG_SIZE + 2):
        _sale(session, (("APBD", 10),))
    last = direct_card.disk().counter
    assert session.get_transaction(last - LOG_SIZE + 1).counter == last - LOG_SIZE + 1
    with pytest.raises(TransactionNotFound):
        session.get_transaction(last - LOG_SIZE)
    assert len(direct_card.disk().log) == LOG_SIZE


# --- block and terminate -----------------------------------------------------------------------


def test_block_order_blocks_the_card_for_good(direct_card: DirectCard) -> None:
    session = direct_card.session()
    request = block_request(session, direct_card.issuer, reason=2, time=T0, terminal_id=TERMINAL)
    receipt = session.block(request)
    assert (receipt.counter, receipt.reason, receipt.terminal_id) == (2, 2, TERMINAL)
    assert session.block(request).counter == 2  # idempotent
    with pytest.raises(CardBlocked) as blocked:
        session.read_card(TODAY)
    assert blocked.value.info is not None and blocked.value.info.state == CardState.BLOCKED
    _, sw = raw(session, Commands.verify_pin(PIN))
    assert sw == SW.CARD_BLOCKED
    request_debit = Commands.debit(debit_request())
    assert raw(session, request_debit)[1] == SW.CARD_BLOCKED
    auth = _auth(direct_card, 3)
    assert raw(session, Commands.load(LoadRequest(auth, TERMINAL, bytes(16), T0)))[1] == (
        SW.CARD_BLOCKED
    )
    # The log is not for strangers, but a terminal finds its own torn command by its nonce.
    assert raw(session, Commands.get_transaction())[1] == SW.PIN_REQUIRED
    assert session.find_transaction(bytes(16), 2) is None
    assert direct_card.disk().state == CardState.BLOCKED


def test_an_expired_block_order_is_refused(direct_card: DirectCard) -> None:
    session = direct_card.session()
    order = direct_card.issuer.block_order(direct_card.number, 1, dt.date(2026, 1, 1), 30)
    with pytest.raises(OrderExpired):  # the card saw issuer date 2026-11-18 at issuance
        session.block(BlockRequest(order, TERMINAL, T0))
    assert direct_card.disk().state == CardState.ACTIVE


def test_block_orders_must_be_the_issuers_and_for_this_card(direct_card: DirectCard) -> None:
    session = direct_card.session()
    forged = IssuerKeys(direct_card.issuer.ca, SigningKey.generate())
    with pytest.raises(IssuerSignatureRejected):
        session.block(BlockRequest(forged.block_order(direct_card.number, 1, TODAY), TERMINAL, T0))
    other = direct_card.issuer.block_order(card_number(9), 1, TODAY)
    with pytest.raises(WrongCard):
        session.block(BlockRequest(other, TERMINAL, T0))
    assert direct_card.disk().state == CardState.ACTIVE


def test_a_terminated_card_says_so(direct_card: DirectCard) -> None:
    data = direct_card.disk().replace(state=CardState.TERMINATED)
    CardStore(direct_card.path).save(data)
    direct_card.card = SimulatedCard.from_file(direct_card.path)
    direct_card.reinsert()
    with pytest.raises(CardTerminated):
        direct_card.session()
    session = CardSession(direct_card.connect(), direct_card.issuer.ca_keys)
    assert raw(session, Commands.select())[1] == SW.CARD_TERMINATED
    assert raw(session, Commands.verify_pin(PIN))[1] == SW.CARD_TERMINATED


# --- issuance -----------------------------------------------------------------------------------


def test_issuance_commands_only_on_a_blank_card(direct_card: DirectCard) -> None:
    session = direct_card.session()
    with pytest.raises(NotAllowed):
        session.generate_key()
    certificate = direct_card.card.data.certificate
    assert certificate is not None
    personalization = Personalization(certificate, "Orang Lain", bytes(32), "1111")
    with pytest.raises(NotAllowed):
        session.personalize(personalization)
    assert direct_card.disk().holder_name == "Siti Aminah"


def test_personalization_needs_the_cards_own_key(tmp_path: Path, issuer: IssuerKeys) -> None:
    from simulators.card.direct import DirectReader
    from tests.fixtures.card import new_card_file

    path = new_card_file(tmp_path / "blank.json")
    reader = DirectReader()
    reader.insert(SimulatedCard.from_file(path))
    session = CardSession(reader.connect(), issuer.ca_keys)
    info = session.select()
    assert (info.state, info.certificate, info.purses) == (CardState.BLANK, None, ())
    stranger = SigningKey.generate()
    cert = CardCertificate(card_number(5), stranger.public_key, EXPIRY, issuer.ca.key_id)
    personalization = Personalization(
        cert.signed_by(issuer.ca), "Budi", issuer.authority.public_key, "4321"
    )
    with pytest.raises(NotAllowed):
        session.personalize(personalization)  # no key generated yet
    public_key = session.generate_key()
    assert public_key != stranger.public_key
    with pytest.raises(InvalidData):
        session.personalize(personalization)
    assert CardStore(path).load().state == CardState.BLANK
    own = dataclasses.replace(cert, public_key=public_key).signed_by(issuer.ca)
    session.personalize(dataclasses.replace(personalization, certificate=own))
    assert CardInfo.decode(raw(session, Commands.select())[0]).state == CardState.ACTIVE


@pytest.mark.parametrize("pin", [PIN, "999999"])
def test_a_pin_try_is_spent_before_the_pin_is_compared(direct_card: DirectCard, pin: str) -> None:
    """On a chip, power cut after the compare but before a write-on-failure gives free
    guesses. The card writes the spent try first: torn, a right and a wrong PIN look alike."""
    card = direct_card.card
    card.power_on()
    assert card.exchange(Commands.select().encode()).response is not None
    pulled = threading.Event()
    pulled.set()  # the card leaves the field while it works on the PIN
    exchange = card.exchange(Commands.verify_pin(pin).encode(), pulled)
    assert exchange.response is None and exchange.leaves_field
    assert direct_card.disk().pin_tries_left == 2
    session = direct_card.session()
    session.verify_pin(PIN)
    assert direct_card.disk().pin_tries_left == 3
