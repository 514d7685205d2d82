"""What can go wrong talking to a Kartu SSN card, as exceptions the sale engine can act on.

- :class:`CardRefused` and its subclasses: the card answered with a refusal status word
  (``sw``); nothing changed on the card, except a wrong PIN, which cost a try.
- :class:`CardNotGenuine`, :class:`CardExpired`: the card's certificate is not acceptable.
- :class:`BadCardProof`: the card answered, but its signed answer does not verify or does not
  say what was asked. Treat the card as suspect; the command may have been applied.
- :class:`CardResponseError`: the answer does not follow the protocol at all.
- Transport errors (no reader, no card, card removed...) live in :mod:`drivers.card.transport`.
All derive from :class:`drivers.card.transport.CardError`.
"""

from __future__ import annotations

from drivers.card.apdu import SW, describe_sw, is_wrong_pin
from drivers.card.protocol import CardInfo
from drivers.card.transport import CardError


class CardSessionError(CardError):
    """The session was used out of order (for example a debit before the card was read)."""


class PinFormatError(CardSessionError):
    """What was typed is not a PIN (4 to 12 digits); nothing was sent to the card."""


class CardResponseError(CardError):
    """The card's answer does not follow the protocol (malformed, truncated, unexpected)."""


class CardNotGenuine(CardError):
    """The card's certificate is missing, or not signed by a CA key we trust."""


class CardExpired(CardError):
    """The card's certificate validity has ended."""


class BadCardProof(CardError):
    """The card's signed answer does not verify or does not match the request."""


class CardRefused(CardError):
    """The card refused the command with status word ``sw``."""

    def __init__(self, sw: int, what: str = "the command", info: CardInfo | None = None) -> None:
        super().__init__(f"card refused {what}: {describe_sw(sw)} (SW {sw:04X})")
        self.sw = sw
        self.info = info


class WrongPin(CardRefused):
    """Wrong PIN; ``tries_left`` more attempts before the PIN blocks."""

    def __init__(self, sw: int, what: str = "the PIN", info: CardInfo | None = None) -> None:
        super().__init__(sw, what, info)
        self.tries_left = sw & 0x0F


class PinBlocked(CardRefused):
    """No PIN tries left: the card takes no debit until the issuer resets it."""


class PinRequired(CardRefused):
    """The PIN was not verified in this session (each debit needs its own PIN entry)."""


class CardBlocked(CardRefused):
    """The card is blocked (hotlisted or blocked by the issuer)."""


class CardTerminated(CardRefused):
    """The card is terminated for good."""


class NotAllowed(CardRefused):
    """Conditions of use not satisfied: wrong card state, not selected, already voided..."""


class InsufficientBalance(CardRefused):
    """A purse holds less than the amount asked."""


class BalanceLimitExceeded(CardRefused):
    """The load would take the purse past the card's limit."""


class PurseExpired(CardRefused):
    """A purse's benefit period is over."""


class PurseNotFound(CardRefused):
    """The card has no purse with that program code."""


class AuthorizationReplayed(CardRefused):
    """The load authorization was already used (or an older one than the last applied)."""


class IssuerSignatureRejected(CardRefused):
    """The card did not accept the issuer's signature on a load or block order."""


class WrongCard(CardRefused):
    """The issuer's order is for another card."""


class NoFreeSlot(CardRefused):
    """No free purse (or quantity counter) slot on the card."""


class TransactionNotFound(CardRefused):
    """The card's log does not hold that transaction."""


class DateBeforeCard(CardRefused):
    """The request's time is before the latest date the card has seen in an issuer-signed
    message: the terminal's clock is behind."""


class OrderExpired(CardRefused):
    """The issuer's block order is past its validity window."""


class NotSsnCard(CardRefused):
    """The card does not have the Kartu SSN application."""


class InvalidData(CardRefused):
    """The card found the command's data malformed or inconsistent."""


class CardInternalError(CardRefused):
    """The card hit an internal error; it changed nothing."""


class CommandNotSupported(CardRefused):
    """Wrong class, instruction, parameters or length: a terminal/card version mismatch."""


_BY_SW: dict[int, type[CardRefused]] = {
    SW.PIN_BLOCKED: PinBlocked,
    SW.PIN_REQUIRED: PinRequired,
    SW.CARD_BLOCKED: CardBlocked,
    SW.CARD_TERMINATED: CardTerminated,
    SW.CONDITIONS_NOT_SATISFIED: NotAllowed,
    SW.INSUFFICIENT_BALANCE: InsufficientBalance,
    SW.BALANCE_LIMIT: BalanceLimitExceeded,
    SW.PURSE_EXPIRED: PurseExpired,
    SW.PURSE_NOT_FOUND: PurseNotFound,
    SW.REPLAYED_AUTHORIZATION: AuthorizationReplayed,
    SW.BAD_SIGNATURE: IssuerSignatureRejected,
    SW.WRONG_CARD: WrongCard,
    SW.NO_FREE_PURSE: NoFreeSlot,
    SW.RECORD_NOT_FOUND: TransactionNotFound,
    SW.OUT_OF_LOG: TransactionNotFound,
    SW.BEFORE_TRUSTED_DATE: DateBeforeCard,
    SW.ORDER_EXPIRED: OrderExpired,
    SW.APPLICATION_NOT_FOUND: NotSsnCard,
    SW.WRONG_DATA: InvalidData,
    SW.INTERNAL_ERROR: CardInternalError,
    SW.INS_NOT_SUPPORTED: CommandNotSupported,
    SW.CLA_NOT_SUPPORTED: CommandNotSupported,
    SW.WRONG_P1P2: CommandNotSupported,
    SW.WRONG_LENGTH: CommandNotSupported,
}


class PinPadError(CardError):
    """The reader's pad failed the entry (``sw``): nothing reached the card, no try was spent."""

    def __init__(self, sw: int, detail: str) -> None:
        super().__init__(f"PIN pad: {detail} (SW {sw:04X})")
        self.sw = sw


class PinEntryTimeout(PinPadError):
    """The holder typed nothing (or did not confirm) in time."""


class PinEntryCancelled(PinPadError):
    """The holder pressed Cancel on the pad."""


def refusal(sw: int, what: str = "the command", info: CardInfo | None = None) -> CardRefused:
    """The typed exception for a refusal status word."""
    if is_wrong_pin(sw):
        return WrongPin(sw, what, info)
    return _BY_SW.get(sw, CardRefused)(sw, what, info)
