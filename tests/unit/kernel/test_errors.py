"""The one exception tree: kinds, stable codes, detail and extra."""

from __future__ import annotations

import pytest

from baobab.kernel.errors import (
    BaobabError,
    Conflict,
    CurrencyMismatch,
    Forbidden,
    InvalidInput,
    InvalidMoney,
    NotFound,
    Unauthenticated,
    Unavailable,
)

KINDS: list[tuple[type[BaobabError], str, str]] = [
    (BaobabError, "baobab.error", "Baobab error"),
    (InvalidInput, "baobab.invalid_input", "Invalid input"),
    (NotFound, "baobab.not_found", "Not found"),
    (Conflict, "baobab.conflict", "Conflict"),
    (Unauthenticated, "baobab.unauthenticated", "Authentication required"),
    (Forbidden, "baobab.forbidden", "Forbidden"),
    (Unavailable, "baobab.unavailable", "Service unavailable"),
    (CurrencyMismatch, "kernel.currency_mismatch", "Currencies differ"),
    (InvalidMoney, "kernel.invalid_money", "Invalid amount of money"),
]


@pytest.mark.parametrize(("kind", "code", "title"), KINDS)
def test_every_error_has_its_stable_code_and_title(
    kind: type[BaobabError], code: str, title: str
) -> None:
    assert kind.code == code
    assert kind.title == title
    error = kind("what went wrong")
    assert error.code == code
    assert issubclass(kind, BaobabError)
    assert issubclass(kind, Exception)


def test_codes_are_unique() -> None:
    codes = [code for _, code, _ in KINDS]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("kind", [NotFound, Conflict, Unauthenticated, Forbidden, Unavailable])
def test_kinds_are_siblings_under_the_root(kind: type[BaobabError]) -> None:
    assert kind.__bases__ == (BaobabError,)
    assert not issubclass(kind, InvalidInput)


def test_money_errors_are_invalid_input() -> None:
    assert CurrencyMismatch.__bases__ == (InvalidInput,)
    assert InvalidMoney.__bases__ == (InvalidInput,)


def test_detail_and_extra() -> None:
    extra = {"field": "amount"}
    error = Conflict("duplicate transfer", extra=extra)
    assert error.detail == "duplicate transfer"
    assert str(error) == "duplicate transfer"
    assert error.args == ("duplicate transfer",)
    assert error.extra == {"field": "amount"}
    extra["field"] = "changed"
    assert error.extra == {"field": "amount"}  # a copy, not the caller's dict


def test_extra_defaults_to_an_empty_dict_per_error() -> None:
    first, second = NotFound("a"), NotFound("b")
    assert first.extra == {}
    first.extra["k"] = 1
    assert second.extra == {}


def test_errors_can_be_caught_by_kind() -> None:
    with pytest.raises(InvalidInput) as caught:
        raise InvalidMoney("bad amount")
    assert caught.value.code == "kernel.invalid_money"
