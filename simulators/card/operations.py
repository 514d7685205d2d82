"""The card's value operations (debit, void, load, block, PIN unblock) as pure functions of its
state.

Each takes the current :class:`CardData` and a decoded request and either raises
:class:`Refusal` (nothing changes) or returns the complete new state with the signed message.
All checks run before anything is computed, so a refusal never leaves half an update behind.
"""

from __future__ import annotations

from drivers.card.apdu import SW
from drivers.card.protocol import (
    LOAD_WINDOW,
    BlockRequest,
    CardState,
    DebitRequest,
    LoadRequest,
    PinUnblockRequest,
    Purse,
    QuantityCounter,
    VoidRequest,
)
from ledger.binary import FormatError, encode_period
from ledger.cardproofs import (
    MAX_AMOUNT,
    MAX_PURSES,
    MAX_QUANTITIES,
    BlockOrder,
    BlockReceipt,
    DebitProof,
    LoadAuthorization,
    LoadReceipt,
    PinUnblockOrder,
    PinUnblockReceipt,
    PurseBalance,
    PurseMovement,
    QuantityMovement,
    VoidProof,
)
from ledger.crypto import SigningKey, key_id
from ledger.verify import business_date
from simulators.card.state import MAX_BALANCE, CardData


class Refusal(Exception):  # noqa: N818 - a refusal is an answer, not an error
    """The card answers this status word and keeps its state (unless ``data`` is given)."""

    def __init__(self, sw: int, data: CardData | None = None) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw
        self.data = data


def _card_number(data: CardData) -> str:
    if data.certificate is None:
        raise Refusal(SW.CONDITIONS_NOT_SATISFIED)
    return data.certificate.card_number


def _next_counter(data: CardData) -> int:
    if data.counter >= MAX_AMOUNT:
        raise Refusal(SW.CONDITIONS_NOT_SATISFIED)  # counter exhausted: the card is worn out
    return data.counter + 1


def _period(unix_time: int) -> int:
    try:
        return encode_period(business_date(unix_time))
    except (FormatError, OverflowError, ValueError) as exc:
        raise Refusal(SW.WRONG_DATA) from exc


def _others(purses: tuple[Purse, ...], moved: set[str]) -> tuple[PurseBalance, ...]:
    """The balances of the purses a transaction did not move, in card order."""
    return tuple(PurseBalance(p.code, p.balance) for p in purses if p.code not in moved)


def debit(data: CardData, request: DebitRequest, key: SigningKey) -> tuple[CardData, DebitProof]:
    codes = [code for code, _ in request.amounts]
    categories = [category for category, _ in request.quantities]
    if len(set(codes)) != len(codes) or len(set(categories)) != len(categories):
        raise Refusal(SW.WRONG_DATA)
    if any(amount <= 0 for _, amount in request.amounts) or any(
        quantity <= 0 for _, quantity in request.quantities
    ):
        raise Refusal(SW.WRONG_DATA)
    period = _period(request.time)
    day = business_date(request.time)
    if day < data.trusted_date:
        raise Refusal(SW.BEFORE_TRUSTED_DATE)  # a clock set back behind what the issuer said
    purses = {purse.code: purse for purse in data.purses}
    for code, amount in request.amounts:
        purse = purses.get(code)
        if purse is None:
            raise Refusal(SW.PURSE_NOT_FOUND)
        if purse.expired_on(day):
            raise Refusal(SW.PURSE_EXPIRED)
        if purse.balance < amount:
            raise Refusal(SW.INSUFFICIENT_BALANCE)
    quantities, quantity_moves = _count(data.quantities, request.quantities, period)
    movements = []
    for code, amount in request.amounts:
        purse = purses[code]
        purses[code] = Purse(code, purse.balance - amount, purse.expiry)
        movements.append(PurseMovement(code, amount, purses[code].balance))
    proof = DebitProof(
        card_number=_card_number(data),
        counter=_next_counter(data),
        terminal_id=request.terminal_id,
        nonce=request.nonce,
        time=request.time,
        basket_digest=request.basket_digest,
        purses=tuple(movements),
        quantities=quantity_moves,
        others=_others(data.purses, set(codes)),
    ).signed_by(key)
    new_purses = tuple(purses[purse.code] for purse in data.purses)
    return data.replace(purses=new_purses, quantities=quantities).with_log(proof), proof


def _count(
    counters: tuple[QuantityCounter, ...], wanted: tuple[tuple[int, int], ...], period: int
) -> tuple[tuple[QuantityCounter, ...], tuple[QuantityMovement, ...]]:
    """Adds each quantity to its category's counter for ``period``.

    A newer period starts the counter afresh; an older one (a terminal clock behind) accrues into
    the stored period, so a cap can never be dodged by a wrong clock. A category without a counter
    takes a free slot, else the slot of a counter from an older period; else 6A84.
    """
    slots = list(counters)
    moves = []
    for category, quantity in wanted:
        index = next((i for i, c in enumerate(slots) if c.category == category), None)
        if index is None:
            if len(slots) < MAX_QUANTITIES:
                slots.append(QuantityCounter(category, period, 0))
                index = len(slots) - 1
            else:
                stale = [i for i, c in enumerate(slots) if c.period < period]
                if not stale:
                    raise Refusal(SW.NO_FREE_PURSE)
                index = min(stale, key=lambda i: slots[i].period)
                slots[index] = QuantityCounter(category, period, 0)
        current = slots[index]
        if period > current.period:
            used_period, used = period, quantity
        else:
            used_period, used = current.period, current.used + quantity
        if used > MAX_AMOUNT:
            raise Refusal(SW.WRONG_DATA)
        slots[index] = QuantityCounter(category, used_period, used)
        moves.append(QuantityMovement(category, used_period, quantity, used))
    return tuple(slots), tuple(moves)


def void(
    data: CardData, request: VoidRequest, key: SigningKey, session_debit: int | None
) -> tuple[CardData, VoidProof]:
    """Cancels the card's last debit if it was made in this card session (``session_debit``,
    kept in RAM and lost at SELECT, reset or power-off) by the same terminal: no value can enter
    the card this way that did not leave it moments before in front of the holder (M1)."""
    entry = data.log[-1] if data.log else None
    if (
        session_debit is None
        or entry is None
        or entry.counter != session_debit
        or request.original_counter != session_debit
        or not isinstance(entry.message, DebitProof)
    ):
        raise Refusal(SW.CONDITIONS_NOT_SATISFIED)
    original = entry.message
    if original.terminal_id != request.terminal_id:
        raise Refusal(SW.CONDITIONS_NOT_SATISFIED)
    purses = {purse.code: purse for purse in data.purses}
    movements = []
    for movement in original.purses:
        purse = purses.get(movement.code)
        if purse is None:
            raise Refusal(SW.INTERNAL_ERROR)
        if purse.balance + movement.amount > MAX_BALANCE:
            raise Refusal(SW.BALANCE_LIMIT)
        purses[movement.code] = Purse(purse.code, purse.balance + movement.amount, purse.expiry)
        movements.append(PurseMovement(purse.code, movement.amount, purses[purse.code].balance))
    counters = list(data.quantities)
    quantity_moves = []
    for moved in original.quantities:
        index = next(
            (
                i
                for i, c in enumerate(counters)
                if c.category == moved.category and c.period == moved.period
            ),
            None,
        )
        if index is None:
            continue  # another period now: that month's cap is history, nothing to give back
        counter = counters[index]
        back = min(moved.quantity, counter.used)
        counters[index] = QuantityCounter(counter.category, counter.period, counter.used - back)
        quantity_moves.append(
            QuantityMovement(counter.category, counter.period, back, counter.used - back)
        )
    proof = VoidProof(
        card_number=_card_number(data),
        counter=_next_counter(data),
        terminal_id=request.terminal_id,
        nonce=request.nonce,
        time=request.time,
        original_counter=original.counter,
        purses=tuple(movements),
        quantities=tuple(quantity_moves),
        others=_others(data.purses, {m.code for m in movements}),
    ).signed_by(key)
    new_purses = tuple(purses[purse.code] for purse in data.purses)
    new = data.replace(purses=new_purses, quantities=tuple(counters))
    return new.with_log(proof), proof


def _check_issuer(data: CardData, order: LoadAuthorization | BlockOrder | PinUnblockOrder) -> None:
    authority = data.authority_key
    if authority is None or order.issuer_key_id != key_id(authority) or not order.verify(authority):
        raise Refusal(SW.BAD_SIGNATURE)
    if order.card_number != _card_number(data):
        raise Refusal(SW.WRONG_CARD)


def _load_unused(data: CardData, load_seq: int) -> bool:
    if load_seq > data.last_load_seq:
        return True
    behind = data.last_load_seq - load_seq  # 0 is the newest applied load itself
    return 1 <= behind <= LOAD_WINDOW and not data.load_window >> (behind - 1) & 1


def _mark_load_used(data: CardData, load_seq: int) -> tuple[int, int]:
    """(last_load_seq, load_window) once ``load_seq`` is applied."""
    if load_seq > data.last_load_seq:
        shift = load_seq - data.last_load_seq
        # The old newest load becomes bit shift-1; bits that fall past the window are forgotten.
        window = (data.load_window << shift) | (1 << (shift - 1) if data.last_load_seq else 0)
        return load_seq, window & ((1 << LOAD_WINDOW) - 1)
    behind = data.last_load_seq - load_seq
    return data.last_load_seq, data.load_window | 1 << (behind - 1)


def load(data: CardData, request: LoadRequest, key: SigningKey) -> tuple[CardData, LoadReceipt]:
    auth = request.authorization
    _check_issuer(data, auth)
    if not _load_unused(data, auth.load_seq) or auth.load_seq == 0:
        raise Refusal(SW.REPLAYED_AUTHORIZATION)
    if auth.amount == 0:
        raise Refusal(SW.WRONG_DATA)
    # Expiry is judged on the latest date the issuer has vouched for, never on an old
    # authorization's own date: a load relayed late must not revive value that had expired.
    trusted = max(data.trusted_date, auth.issued)
    if auth.expiry < trusted:
        raise Refusal(SW.PURSE_EXPIRED)
    purses = list(data.purses)
    index = next((i for i, p in enumerate(purses) if p.code == auth.purse_code), None)
    swept = 0
    if index is None:
        if len(purses) >= MAX_PURSES:
            raise Refusal(SW.NO_FREE_PURSE)
        purses.append(Purse(auth.purse_code, 0, auth.expiry))
        index = len(purses) - 1
    elif purses[index].expired_on(trusted):
        swept = purses[index].balance
    balance = purses[index].balance - swept + auth.amount
    if balance > MAX_BALANCE:
        raise Refusal(SW.BALANCE_LIMIT)
    expiry = (
        auth.expiry
        if swept or index == len(data.purses)
        else max(auth.expiry, purses[index].expiry)
    )
    purses[index] = Purse(auth.purse_code, balance, expiry)
    last_load_seq, window = _mark_load_used(data, auth.load_seq)
    receipt = LoadReceipt(
        card_number=auth.card_number,
        counter=_next_counter(data),
        terminal_id=request.terminal_id,
        nonce=request.nonce,
        time=request.time,
        load_seq=auth.load_seq,
        purse_code=auth.purse_code,
        amount=auth.amount,
        expired_swept=swept,
        balance_after=balance,
        expiry=expiry,
        others=_others(tuple(purses), {auth.purse_code}),
    ).signed_by(key)
    new = data.replace(
        purses=tuple(purses), last_load_seq=last_load_seq, load_window=window, trusted_date=trusted
    )
    return new.with_log(receipt), receipt


def block(data: CardData, request: BlockRequest, key: SigningKey) -> tuple[CardData, BlockReceipt]:
    order = request.order
    _check_issuer(data, order)
    trusted = max(data.trusted_date, order.issued)
    if order.valid_until < trusted:
        raise Refusal(SW.ORDER_EXPIRED)
    receipt = BlockReceipt(
        card_number=order.card_number,
        counter=data.counter,
        terminal_id=request.terminal_id,
        time=request.time,
        reason=order.reason,
    ).signed_by(key)
    return data.replace(state=CardState.BLOCKED, trusted_date=trusted), receipt


def unblock_pin(
    data: CardData, request: PinUnblockRequest, key: SigningKey
) -> tuple[CardData, PinUnblockReceipt]:
    """Gives the holder ``order.tries`` PIN tries again, once per order; the PIN stays the
    holder's. The order last applied answers its receipt again and changes nothing, so a
    terminal that lost the answer asks again (like a block)."""
    order = request.order
    _check_issuer(data, order)
    if order.tries > data.pin_max_tries:
        raise Refusal(SW.WRONG_DATA)
    if order.unblock_seq < data.last_unblock_seq:
        raise Refusal(SW.REPLAYED_AUTHORIZATION)
    again = order.unblock_seq == data.last_unblock_seq
    trusted = max(data.trusted_date, order.issued)
    if not again and order.valid_until < trusted:
        raise Refusal(SW.ORDER_EXPIRED)
    receipt = PinUnblockReceipt(
        card_number=order.card_number,
        counter=data.counter,
        terminal_id=request.terminal_id,
        time=request.time,
        unblock_seq=order.unblock_seq,
        tries=order.tries,
    ).signed_by(key)
    if again:
        return data, receipt
    new = data.replace(
        pin_tries_left=order.tries, last_unblock_seq=order.unblock_seq, trusted_date=trusted
    )
    return new, receipt
