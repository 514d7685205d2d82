"""Property test of the card: random loads, debits, cancellations, wrong PINs, bare-reader
credit attempts and tears at any point.

A model predicts every answer (which refusal, which balances) from the documented rules; after
each step the card's state file must equal the model, and the card's own signed messages must
account for every rupiah per purse: balance = loads - debits + voids - swept (M2). Value only
comes from issuer authorizations, each used once, or from cancelling the debit made moments
before in the same card session (M1); every debit follows its own PIN (S1).
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from drivers.card.apdu import SW
from drivers.card.errors import (
    AuthorizationReplayed,
    BalanceLimitExceeded,
    CardRefused,
    DateBeforeCard,
    InsufficientBalance,
    InvalidData,
    NoFreeSlot,
    NotAllowed,
    PinBlocked,
    PinRequired,
    PurseExpired,
    PurseNotFound,
    WrongPin,
)
from drivers.card.protocol import Commands, Ins, LoadRequest, VoidRequest
from drivers.card.transport import CardRemoved
from ledger.cardproofs import CardTransaction, DebitProof, LoadReceipt, VoidProof
from simulators.card.card import Fault
from simulators.card.issuance import IssuerKeys
from simulators.card.state import MAX_BALANCE
from tests.factories import T0
from tests.fixtures.card import EXPIRY, PIN, STARTING, TERMINAL, TODAY, DirectCard, issue_file
from tests.fixtures.card import debit_request as make_debit

PURSES = ["APBD", "BZNS", "PKH1", "CSR1", "CSR2"]
LATE_ISSUE, LATE_EXPIRY = dt.date(2027, 2, 1), dt.date(2027, 3, 31)
LATE_SALE_DAY = dt.date(2027, 1, 15)
LATE_SALE = int(dt.datetime(2027, 1, 15, 10, tzinfo=dt.UTC).timestamp())


def day_expired(expiry: dt.date | None) -> bool:
    return expiry is None or expiry < TODAY


class CardMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="card-prop-"))
        self.issuer = IssuerKeys.generate()
        path = self.directory / "card.json"
        self.card = DirectCard(self.issuer, path, issue_file(path, self.issuer))
        self.session = self.card.session()
        # The model: what the card must hold.
        self.balances = dict(STARTING)
        self.expiry = dict.fromkeys(STARTING, EXPIRY)
        self.counter, self.next_seq, self.tries = 2, 3, 3
        self.trusted = TODAY  # the issuance loads were issued today
        self.session_debit: int | None = None
        self.cancellable_when_sent: int | None = None
        self.debits: dict[int, DebitProof] = {}
        self.voided: set[int] = set()
        # Accounting from the card's own signed messages.
        self.flows: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        for code, amount in STARTING.items():
            self.flows[code]["loads"] += amount
        self.authorized = sum(STARTING.values())
        self.seqs_used = {1, 2}
        self.pins_ok = self.debits_done = 0

    def teardown(self) -> None:
        self.card.reader.remove()
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- plumbing -------------------------------------------------------------------------

    def _fresh_session(self) -> None:
        if not self.card.reader.card_present():
            self.card.reinsert()
        self.session = self.card.session()
        self.session_debit = None

    def _fired(self, before: tuple[object, ...]) -> Fault | None:
        armed = self.card.card.armed
        return before[0].fault if before and not armed else None  # type: ignore[attr-defined]

    def _apply(self, message: CardTransaction) -> None:
        """Books a transaction the card applied, from its signed message."""
        assert message.verify(self.card.card.data.certificate.public_key)  # type: ignore[union-attr]
        assert message.counter == self.counter + 1
        self.counter = message.counter
        if isinstance(message, LoadReceipt):
            flow = self.flows[message.purse_code]
            flow["loads"] += message.amount
            flow["swept"] += message.expired_swept
            assert message.load_seq not in self.seqs_used
            self.seqs_used.add(message.load_seq)
            return
        for movement in message.purses:
            self.flows[movement.code]["voids" if isinstance(message, VoidProof) else "debits"] += (
                movement.amount
            )
        if isinstance(message, DebitProof):
            self.debits[message.counter] = message
            self.debits_done += 1
        else:
            # M1: only the debit made in this very session, just before, comes back.
            assert message.original_counter == self.cancellable_when_sent
            original = self.debits[message.original_counter]
            assert [(p.code, p.amount) for p in message.purses] == [
                (p.code, p.amount) for p in original.purses
            ]
            assert message.original_counter not in self.voided
            self.voided.add(message.original_counter)

    def _value_command(self, send, nonce: bytes, expect: type[Exception] | None) -> bool:  # type: ignore[no-untyped-def]
        """Runs a debit/load/void; returns True when the card applied it (tears included)."""
        armed = self.card.card.armed
        event(f"expect {expect.__name__ if expect else 'success'}")
        try:
            message = send(self.session)
        except CardRemoved:
            fired = self._fired(armed)
            event(f"tear {fired}")
            assert fired in (Fault.BEFORE, Fault.DURING)
            self._fresh_session()
            found = self.session.find_transaction(nonce, self.counter + 1)
            assert (found is not None) == (fired is Fault.DURING and expect is None)
            if found is not None:
                self._apply(found)
            return found is not None
        except CardRefused as refused:
            assert expect is not None and isinstance(refused, expect), (refused, expect)
            if not self.card.reader.card_present():
                self._fresh_session()
            return False
        assert expect is None, f"expected {expect}, the card accepted"
        self._apply(message)
        if not self.card.reader.card_present():  # an "after" tear: answered, then gone
            assert self._fired(armed) is Fault.AFTER
            self._fresh_session()
        return True

    def _verify(self, pin: str) -> bool:
        """VERIFY PIN; True when the PIN is verified in the current session."""
        armed = self.card.card.armed
        try:
            self.session.verify_pin(pin)
        except CardRemoved:
            event(f"tear {self._fired(armed)} on VERIFY")
            if self._fired(armed) is Fault.DURING and self.tries > 0:
                self.tries = 3 if pin == PIN else self.tries - 1
            self._fresh_session()
            return False
        except WrongPin as wrong:
            assert pin != PIN and self.tries > 0
            self.tries -= 1
            assert wrong.tries_left == self.tries
        except PinBlocked:
            assert self.tries == 0
        else:
            assert pin == PIN and self.tries > 0
            self.tries = 3
            self.pins_ok += 1
        if not self.card.reader.card_present():  # "after" tear on VERIFY
            self._fresh_session()
            return False
        return pin == PIN and self.tries > 0

    # --- rules ----------------------------------------------------------------------------

    @precondition(lambda self: not self.card.card.armed)
    @rule(
        fault=st.sampled_from(list(Fault)),
        ins=st.sampled_from([Ins.DEBIT, Ins.LOAD, Ins.VOID, Ins.VERIFY_PIN]),
    )
    def arm(self, fault: Fault, ins: Ins) -> None:
        self.card.card.arm(fault, int(ins))

    @rule(
        pin_right=st.integers(0, 5).map(bool),
        amounts=st.lists(
            st.tuples(st.sampled_from(PURSES[:3]), st.integers(1, 150_000)),
            min_size=1,
            max_size=3,
            unique_by=lambda pair: pair[0],
        ),
        late=st.integers(0, 4).map(lambda x: x == 0),
    )
    def debit(self, pin_right: bool, amounts: list[tuple[str, int]], late: bool) -> None:
        verified = self._verify(PIN if pin_right else "000000")
        request = make_debit(tuple(amounts), time=LATE_SALE if late else T0)
        day = LATE_SALE_DAY if late else TODAY
        expect: type[Exception] | None = None
        if self.tries == 0:
            expect = PinBlocked
        elif not verified:
            expect = PinRequired
        elif day < self.trusted:
            expect = DateBeforeCard
        else:
            for code, amount in amounts:
                if code not in self.balances:
                    expect = PurseNotFound
                elif day > self.expiry[code]:
                    expect = PurseExpired
                elif self.balances[code] < amount:
                    expect = InsufficientBalance
                if expect is not None:
                    break
        if self._value_command(lambda s: s.debit(request), request.nonce, expect):
            for code, amount in amounts:
                self.balances[code] -= amount
            if self.card.reader.card_present() and self.session.session_debit is not None:
                self.session_debit = self.counter

    @precondition(lambda self: self.tries > 0)
    @rule(code=st.sampled_from(["APBD", "BZNS"]), delta=st.sampled_from([-1, 0, 1]))
    def debit_to_the_last_rupiah(self, code: str, delta: int) -> None:
        amount = self.balances.get(code, 0) + delta
        if amount < 1 or day_expired(self.expiry.get(code)) or self.trusted > TODAY:
            return
        if not self._verify(PIN):
            return
        request = make_debit(((code, amount),))
        expect = InsufficientBalance if delta > 0 else None
        if self._value_command(lambda s: s.debit(request), request.nonce, expect):
            self.balances[code] -= amount
            if self.card.reader.card_present() and self.session.session_debit is not None:
                self.session_debit = self.counter

    @rule(purse=st.sampled_from(PURSES), amount=st.integers(0, 4_000_000), replay=st.booleans(),
          late=st.booleans())  # fmt: skip
    def load(self, purse: str, amount: int, replay: bool, late: bool) -> None:
        # A replay is the last applied authorization again, or the very first one.
        seq = (max if amount % 2 else min)(self.seqs_used) if replay else self.next_seq
        issued, expiry = (LATE_ISSUE, LATE_EXPIRY) if late else (TODAY, EXPIRY)
        auth = self.issuer.authorize_load(self.card.number, seq, purse, amount, expiry, issued)
        request = LoadRequest(auth, TERMINAL, os.urandom(16), T0)
        trusted = max(self.trusted, issued)
        swept = (
            self.balances[purse] if purse in self.balances and trusted > self.expiry[purse] else 0
        )
        new_balance = self.balances.get(purse, 0) - swept + amount
        new_expiry = (
            expiry if swept or purse not in self.expiry else max(expiry, self.expiry[purse])
        )
        expect: type[Exception] | None = None
        if replay:
            expect = AuthorizationReplayed
        elif amount == 0:
            expect = InvalidData
        elif expiry < trusted:
            expect = PurseExpired
        elif purse not in self.balances and len(self.balances) == 4:
            expect = NoFreeSlot
        elif new_balance > MAX_BALANCE:
            expect = BalanceLimitExceeded
        self.authorized += 0 if replay else amount
        if not replay:
            self.next_seq += 1  # an authorization the card refused is never re-sent
        if self._value_command(lambda s: s.load(request), request.nonce, expect):
            self.balances[purse], self.expiry[purse] = new_balance, new_expiry
            self.trusted = trusted
            self.session_debit = None

    @precondition(lambda self: bool(self.debits))
    @rule(pick=st.integers(0, 10**6), other_terminal=st.booleans())
    def void(self, pick: int, other_terminal: bool) -> None:
        counters = sorted(self.debits)
        original = self.debits[counters[pick % len(counters)]]
        terminal = "SMD-0002" if other_terminal else TERMINAL
        request = VoidRequest(terminal, os.urandom(16), T0 + 60, original.counter)
        self.cancellable_when_sent = self.session_debit
        expect: type[Exception] | None = None
        if other_terminal or original.counter != self.session_debit:
            expect = NotAllowed
        if self._value_command(lambda s: s.void(request, original), request.nonce, expect):
            for movement in original.purses:
                self.balances[movement.code] += movement.amount
            self.session_debit = None

    @precondition(lambda self: bool(self.debits) and not self.card.card.armed)
    @rule(pick=st.integers(0, 10**6), terminal=st.sampled_from([TERMINAL, "SMD-0002"]))
    def bare_reader_void(self, pick: int, terminal: str) -> None:
        """Someone with a reader and no key: a new power-on session, any logged counter, any
        terminal id, straight to the card (no driver checks in the way). Never a credit."""
        counters = sorted(self.debits)
        original = self.debits[counters[pick % len(counters)]]
        self._fresh_session()
        before = self.card.disk()
        request = VoidRequest(terminal, os.urandom(16), T0 + 60, original.counter)
        answer = self.session._transport.transmit(Commands.void(request).encode())
        assert answer == SW.CONDITIONS_NOT_SATISFIED.to_bytes(2, "big")
        assert self.card.disk() == before

    @rule()
    def reselect(self) -> None:
        self.session.read_card(TODAY)
        self.session_debit = None

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def card_matches_the_model(self) -> None:
        disk = self.card.disk()
        assert {p.code: p.balance for p in disk.purses} == self.balances
        assert {p.code: p.expiry for p in disk.purses} == self.expiry
        assert (disk.counter, disk.pin_tries_left) == (self.counter, self.tries)

    @invariant()
    def every_rupiah_is_accounted_for(self) -> None:
        for purse in self.card.disk().purses:
            flow = self.flows[purse.code]
            assert purse.balance == flow["loads"] - flow["debits"] + flow["voids"] - flow["swept"]
            assert purse.balance >= 0
        assert sum(flow["loads"] for flow in self.flows.values()) <= self.authorized
        assert self.debits_done <= self.pins_ok


CardMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_card_state_machine = CardMachine.TestCase
