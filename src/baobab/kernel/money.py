"""Money: an integer count of minor units and an ISO 4217 currency code. Never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass

from baobab.kernel.errors import CurrencyMismatch, InvalidMoney

# ISO 4217 minor-unit exponents that differ from the usual 2 (ISO 4217 list one, 2024 edition).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
_CODE = re.compile(r"[A-Z]{3}")
_AMOUNT = re.compile(r"-?(0|[1-9][0-9]{0,18})(\.[0-9]{1,30})?")  # plain decimal, no exponent
INT64_MAX = 2**63 - 1


def minor_unit_exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(currency, 2)


def check_currency(currency: str) -> str:
    """Return ``currency`` if it is a three-letter upper-case ISO 4217 code, else raise."""
    if not _CODE.fullmatch(currency):
        raise InvalidMoney(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    return currency


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount of one currency in minor units (cents); arithmetic refuses mixed currencies."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:
            raise InvalidMoney(f"minor units must be an integer, got {type(self.minor).__name__}")
        if abs(self.minor) > INT64_MAX:
            raise InvalidMoney("amount does not fit in a signed 64-bit integer")
        check_currency(self.currency)

    @classmethod
    def parse(cls, amount: str, currency: str) -> Money:
        """Parse a plain decimal string such as ``"12.50"`` (FSPIOP, ISO 20022 style) into minor
        units. No exponents, signs other than a leading ``-``, spaces or separators."""
        exponent = minor_unit_exponent(check_currency(currency))
        if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
            raise InvalidMoney(f"not a plain decimal amount: {amount!r}")
        whole, _, fraction = amount.lstrip("-").partition(".")
        if len(fraction.rstrip("0")) > exponent:
            raise InvalidMoney(f"{amount} has more decimals than {currency} allows ({exponent})")
        minor = int(whole) * 10**exponent + int((fraction + "0" * exponent)[:exponent] or "0")
        return cls(-minor if amount.startswith("-") else minor, currency)

    def format(self) -> str:
        """The amount as a plain decimal string with the currency's number of decimals."""
        exponent = minor_unit_exponent(self.currency)
        if exponent == 0:
            return str(self.minor)
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exponent)
        return f"{sign}{whole}.{frac:0{exponent}d}"

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"

    @property
    def is_positive(self) -> bool:
        return self.minor > 0
