"""Order numbers: 8 digits a physician can key on a phone pad, the last a Luhn check digit,
so that a mistyped digit or a swap of two neighbours is caught before any lookup."""

from __future__ import annotations

import secrets

LENGTH = 8


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload`` + digit pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(payload)):
        value = int(char)
        if index % 2 == 0:  # these positions are doubled once the check digit is appended
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_well_formed(number: str) -> bool:
    """True if ``number`` has 8 digits and its check digit is right."""
    if len(number) != LENGTH or not number.isascii() or not number.isdigit():
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def new_order_number() -> str:
    """A random, well-formed order number (uniqueness is the database's job)."""
    payload = str(secrets.randbelow(9 * 10 ** (LENGTH - 2)) + 10 ** (LENGTH - 2))
    return payload + luhn_check_digit(payload)
