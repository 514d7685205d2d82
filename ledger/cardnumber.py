"""Kartu SSN card numbers: 16 digits with a Luhn check digit, stored as 8 BCD bytes."""

from __future__ import annotations

import functools

from ledger.binary import FormatError

CARD_NUMBER_DIGITS = 16


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


@functools.lru_cache(maxsize=65536)
def is_valid_card_number(number: str) -> bool:
    # Cached: a host checks the same few card numbers in every record, three times each.
    if len(number) != CARD_NUMBER_DIGITS or not number.isascii() or not number.isdigit():
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def validate_card_number(number: str) -> str:
    if not is_valid_card_number(number):
        raise FormatError(f"not a valid 16-digit card number: {number!r}")
    return number


def card_number_to_bcd(number: str) -> bytes:
    return bytes.fromhex(validate_card_number(number))


def card_number_from_bcd(data: bytes) -> str:
    number = data.hex()
    return validate_card_number(number)


def mask_card_number(number: str) -> str:
    """What receipts and screens show: only the last four digits (privacy, S4)."""
    return "**** **** **** " + number[-4:]
