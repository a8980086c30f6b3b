"""FSPIOP wire forms of values: ``Amount`` strings, ``Money`` objects and ``DateTime`` strings.

One copy for the hub and for everything that speaks FSPIOP to it (the simulated FSP, tests,
benchmarks).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from baobab.kernel.money import Money


def amount_text(money: Money) -> str:
    """The FSPIOP ``Amount``: a plain decimal without trailing zeros (``12.5``, ``100``)."""
    text = money.format()
    return text.rstrip("0").rstrip(".") if "." in text else text


def money_json(money: Money) -> dict[str, str]:
    """The FSPIOP ``Money`` object."""
    return {"currency": money.currency, "amount": amount_text(money)}


def money_of(value: Any) -> Money:
    """A ``Money`` object of the wire; raises ``InvalidMoney`` (or KeyError/TypeError) if bad."""
    return Money.parse(str(value["amount"]), str(value["currency"]))


def datetime_text(moment: datetime) -> str:
    """The FSPIOP ``DateTime``: ISO 8601 in UTC with milliseconds, e.g.
    ``2026-11-26T20:30:00.123Z``. A naive ``moment`` is taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_datetime_text(value: str) -> datetime:
    """An FSPIOP ``DateTime`` as an aware UTC datetime; raises ValueError if it is not one."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("an FSPIOP DateTime carries its offset")
    return parsed.astimezone(UTC)
