"""The Verhoeff check digit: known vectors and the errors it promises to catch."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from baobab.kernel.verhoeff import check_digit, is_valid


@pytest.mark.parametrize(
    ("digits", "check"),
    # Published vectors (Wikipedia, Rosetta Code), not values computed by the code under test.
    [("236", "3"), ("12345", "1"), ("75872", "2"), ("123456789012", "0")],
)
def test_known_check_digits(digits: str, check: str) -> None:
    assert check_digit(digits) == check
    assert is_valid(digits + check)


@pytest.mark.parametrize("number", ["2363", "123451", "758722", "1234567890120"])
def test_known_valid_numbers(number: str) -> None:
    assert is_valid(number) is True


@pytest.mark.parametrize("number", ["2364", "2336", "123415", "758727", "1234567890121"])
def test_known_invalid_numbers(number: str) -> None:
    assert is_valid(number) is False


@pytest.mark.parametrize(
    "number",
    ["", "4", "236a", "23 63", "-2363", "2363\n", "٢٣٦٣", "\uff12\uff13\uff16\uff13", "²³", "23.6"],
)
def test_is_valid_refuses_non_digits_and_too_short_input(number: str) -> None:
    assert is_valid(number) is False


@pytest.mark.parametrize("digits", ["", "12a", "١٢٣", "1 2", "+1"])
def test_check_digit_refuses_non_digits(digits: str) -> None:
    with pytest.raises(ValueError, match="ASCII decimal digits"):
        check_digit(digits)


# A reference built from the published definition, not from the module's tables: the dihedral
# group D5 (multiplication table as in Verhoeff 1969), the permutation
# sigma = (1 5 7 6 2 8 3 0 9 4) applied i times at position i, and the group inverse.
_SIGMA = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)


def _d5(a: int, b: int) -> int:
    """Product in D5, elements 0-4 rotations and 5-9 reflections."""
    if a < 5 and b < 5:
        return (a + b) % 5
    if a < 5:
        return 5 + (a + b - 5) % 5
    if b < 5:
        return 5 + (a - 5 - b) % 5
    return (a - b) % 5


def _sigma_power(i: int, digit: int) -> int:
    for _ in range(i % 8):
        digit = _SIGMA[digit]
    return digit


def reference_check_digit(digits: str) -> str:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _d5(c, _sigma_power(i + 1, int(ch)))
    return str(next(j for j in range(10) if _d5(c, j) == 0))


digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=24)
numbers = digit_strings.map(lambda d: d + check_digit(d))


@pytest.mark.parametrize(
    ("digits", "check"), [("236", "3"), ("12345", "1"), ("75872", "2"), ("123456789012", "0")]
)
def test_the_reference_reproduces_the_published_vectors(digits: str, check: str) -> None:
    assert reference_check_digit(digits) == check


@given(digit_strings)
@example("6000")  # the standard check digit is 9; the kernel gives 6
def test_check_digit_agrees_with_the_reference(digits: str) -> None:
    assert check_digit(digits) == reference_check_digit(digits)


@given(numbers)
def test_every_single_digit_substitution_is_detected(number: str) -> None:
    assert is_valid(number)
    for i, original in enumerate(number):
        for replacement in "0123456789":
            if replacement != original:
                changed = number[:i] + replacement + number[i + 1 :]
                assert not is_valid(changed), (number, changed)


@given(digit_strings)
@example("0700")  # 07005 is accepted, and so is its transposition 70005
def test_every_adjacent_transposition_is_detected(digits: str) -> None:
    number = digits + check_digit(digits)
    for i in range(len(number) - 1):
        a, b = number[i], number[i + 1]
        if a == b:
            continue  # swapping equal digits changes nothing
        swapped = number[:i] + b + a + number[i + 2 :]
        assert not is_valid(swapped), (number, swapped)
