"""Order numbers: 8 digits, the last a Luhn check digit that catches typing mistakes."""

from __future__ import annotations

import pytest

from logging_app.order_numbers import is_well_formed, luhn_check_digit, new_order_number


@pytest.mark.parametrize(
    ("payload", "check"),
    [("7992739871", "3"), ("1234567", "4"), ("0000000", "0"), ("9999999", "7")],
)
def test_check_digit_matches_the_luhn_algorithm(payload: str, check: str) -> None:
    assert luhn_check_digit(payload) == check


def test_new_numbers_are_eight_well_formed_digits() -> None:
    numbers = {new_order_number() for _ in range(500)}
    assert len(numbers) > 490
    for number in numbers:
        assert len(number) == 8 and number.isdigit() and number[0] != "0"
        assert is_well_formed(number)


@pytest.mark.parametrize(
    "number",
    ["12345670", "1234567", "123456745", "1234567a", "", "١٢٣٤٥٦٧٤"],
)
def test_malformed_numbers_are_rejected(number: str) -> None:
    assert not is_well_formed(number)


def test_any_single_digit_typo_is_caught() -> None:
    number = new_order_number()
    for position in range(8):
        for digit in "0123456789":
            if digit != number[position]:
                typo = number[:position] + digit + number[position + 1 :]
                assert not is_well_formed(typo)


def test_swapping_two_neighbouring_digits_is_caught() -> None:
    number = "12345674"
    assert is_well_formed(number)
    for i in range(7):
        swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        if swapped != number:  # (Luhn misses only 09 <-> 90, absent here)
            assert not is_well_formed(swapped)
