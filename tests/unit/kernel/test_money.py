"""Money: exact minor units, ISO 4217 exponents, and refusal of everything that is not money."""

from __future__ import annotations

import decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baobab.kernel.errors import CurrencyMismatch, InvalidInput, InvalidMoney
from baobab.kernel.money import INT64_MAX, Money, check_currency, minor_unit_exponent

# One currency of each exponent the kernel knows: 0 (XOF), 2 (USD), 3 (KWD), 4 (CLF).
CURRENCIES = ["XOF", "USD", "KWD", "CLF"]


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("XOF", 0),
        ("JPY", 0),
        ("RWF", 0),
        ("USD", 2),
        ("KES", 2),
        ("KWD", 3),
        ("TND", 3),
        ("CLF", 4),
        ("ZZZ", 2),
    ],
)
def test_minor_unit_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "formatted"),
    [
        ("0", "XOF", 0, "0"),
        ("1500", "XOF", 1500, "1500"),
        ("-25", "XOF", -25, "-25"),
        ("12.50", "USD", 1250, "12.50"),
        ("12.5", "USD", 1250, "12.50"),
        ("0.01", "USD", 1, "0.01"),
        ("-0.05", "USD", -5, "-0.05"),
        ("-12.34", "USD", -1234, "-12.34"),
        ("7", "USD", 700, "7.00"),
        ("1.234", "KWD", 1234, "1.234"),
        ("0.001", "KWD", 1, "0.001"),
        ("-0.5", "KWD", -500, "-0.500"),
        ("3.0001", "CLF", 30001, "3.0001"),
    ],
)
def test_parse_and_format_round_trip(
    amount: str, currency: str, minor: int, formatted: str
) -> None:
    money = Money.parse(amount, currency)
    assert money == Money(minor, currency)
    assert money.format() == formatted
    assert Money.parse(formatted, currency) == money


def test_str_shows_amount_and_currency() -> None:
    assert str(Money(1250, "USD")) == "12.50 USD"
    assert str(Money(-1, "KWD")) == "-0.001 KWD"
    assert str(Money(300, "XOF")) == "300 XOF"


def test_trailing_zeros_beyond_the_exponent_are_not_extra_decimals() -> None:
    assert Money.parse("12.00", "XOF") == Money(12, "XOF")
    assert Money.parse("1.2300", "USD") == Money(123, "USD")


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1.5", "XOF"), ("0.001", "USD"), ("12.505", "USD"), ("1.0001", "KWD"), ("0.00001", "CLF")],
)
def test_too_many_decimals_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(InvalidMoney, match="more decimals than"):
        Money.parse(amount, currency)


@pytest.mark.parametrize(
    "amount",
    [
        "",
        "abc",
        "12,50",
        "1.2.3",
        "12.50 USD",
        "0x10",
        "--1",
        " 12.5 ",
        "1_000",
        "1E2",
        "+5",
        "012",
        "1.",
    ],
)
def test_anything_but_a_plain_decimal_is_refused(amount: str) -> None:
    with pytest.raises(InvalidMoney, match="not a plain decimal amount"):
        Money.parse(amount, "USD")


@pytest.mark.parametrize("amount", ["NaN", "nan", "sNaN", "-NaN", "Infinity", "-Infinity", "inf"])
def test_nan_and_infinity_are_refused(amount: str) -> None:
    with pytest.raises(InvalidMoney, match="not a plain decimal amount"):
        Money.parse(amount, "USD")


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", "", "U$D", "12A"])
def test_malformed_currency_codes_are_refused(currency: str) -> None:
    with pytest.raises(InvalidMoney, match="three-letter ISO 4217 code"):
        Money.parse("1", currency)
    with pytest.raises(InvalidMoney, match="three-letter ISO 4217 code"):
        Money(1, currency)
    with pytest.raises(InvalidMoney):
        check_currency(currency)


def test_check_currency_returns_a_good_code() -> None:
    assert check_currency("EUR") == "EUR"


@pytest.mark.parametrize("minor", [1.0, 0.5, decimal.Decimal(1), "100", True, None])
def test_minor_units_must_be_a_plain_int(minor: Any) -> None:
    with pytest.raises(InvalidMoney, match="minor units must be an integer"):
        Money(minor, "USD")


def test_the_largest_signed_64_bit_amounts_are_accepted() -> None:
    assert Money(INT64_MAX, "USD").minor == 2**63 - 1
    assert Money(-INT64_MAX, "USD").minor == -(2**63) + 1
    assert Money.parse("92233720368547758.07", "USD") == Money(INT64_MAX, "USD")


@pytest.mark.parametrize("minor", [2**63, -(2**63) - 1, 10**30])
def test_amounts_beyond_64_bits_are_refused(minor: int) -> None:
    with pytest.raises(InvalidMoney, match="64-bit"):
        Money(minor, "USD")


def test_parse_beyond_64_bits_is_refused() -> None:
    with pytest.raises(InvalidMoney, match="64-bit"):
        Money.parse("92233720368547758.08", "USD")
    with pytest.raises(InvalidMoney, match="64-bit"):
        Money.parse("9999999999999999999", "XOF")


def test_arithmetic_that_overflows_64_bits_is_refused() -> None:
    big = Money(INT64_MAX, "USD")
    with pytest.raises(InvalidMoney, match="64-bit"):
        big + Money(1, "USD")
    with pytest.raises(InvalidMoney, match="64-bit"):
        -big - Money(1, "USD")


def test_arithmetic_in_one_currency() -> None:
    a, b = Money(1250, "USD"), Money(75, "USD")
    assert a + b == Money(1325, "USD")
    assert a - b == Money(1175, "USD")
    assert b - a == Money(-1175, "USD")
    assert -a == Money(-1250, "USD")
    assert b < a
    assert b <= a
    assert a <= Money(1250, "USD")
    assert a > b
    assert a >= b
    assert not a < b
    assert (a - a).is_positive is False
    assert a.is_positive is True
    assert (-a).is_positive is False


def test_equality_includes_the_currency() -> None:
    assert Money(100, "USD") != Money(100, "EUR")
    assert Money(100, "USD") == Money(100, "USD")
    assert hash(Money(100, "USD")) == hash(Money(100, "USD"))


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_mixed_currencies_are_refused(combine: Any) -> None:
    with pytest.raises(CurrencyMismatch, match="cannot combine USD with EUR"):
        combine(Money(100, "USD"), Money(100, "EUR"))


def test_money_errors_are_invalid_input_with_stable_codes() -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.parse("x", "USD")
    assert caught.value.code == "kernel.invalid_money"
    with pytest.raises(InvalidInput) as mismatch:
        Money(1, "USD") + Money(1, "EUR")
    assert mismatch.value.code == "kernel.currency_mismatch"


def test_money_is_immutable() -> None:
    money = Money(1, "USD")
    with pytest.raises(AttributeError):
        money.minor = 2  # type: ignore[misc]


# Keep sums inside 64 bits so the property is about arithmetic, not overflow.
_HALF = INT64_MAX // 2
minor_units = st.integers(min_value=-_HALF, max_value=_HALF)
any_minor_units = st.integers(min_value=-INT64_MAX, max_value=INT64_MAX)


@given(a=minor_units, b=minor_units, currency=st.sampled_from(CURRENCIES))
def test_adding_then_subtracting_gives_back_the_same_money(a: int, b: int, currency: str) -> None:
    ma, mb = Money(a, currency), Money(b, currency)
    assert (ma + mb) - mb == ma
    assert (ma + mb).minor == a + b


@given(minor=any_minor_units, currency=st.sampled_from(CURRENCIES))
def test_parse_of_format_is_identity(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.parse(money.format(), currency) == money


@given(minor=any_minor_units, currency=st.sampled_from(CURRENCIES))
def test_format_has_exactly_the_currency_decimals(minor: int, currency: str) -> None:
    text = Money(minor, currency).format()
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        assert "." not in text
    else:
        assert len(text.split(".")[1]) == exponent


# --- Inputs that once slipped through Decimal: rounding, underflow, overflow, slow exponents. ---


def test_extra_decimals_beyond_28_significant_digits_are_refused() -> None:
    with pytest.raises(InvalidMoney):
        Money.parse("1.00000000000000000000000000001", "USD")


def test_a_tiny_amount_does_not_become_zero() -> None:
    with pytest.raises(InvalidMoney):
        Money.parse("1e-1000030", "USD")


def test_a_huge_exponent_is_invalid_money() -> None:
    for currency in ("USD", "JPY"):
        with pytest.raises(InvalidMoney):
            Money.parse("1e999999", currency)
