from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baobab.identity import UIN_POLICY, VID_POLICY, NumberPolicy, partner_token
from baobab.identity.numbers import InvalidNumberPolicy
from baobab.kernel import verhoeff
from baobab.kernel.errors import InvalidInput


@given(st.integers(min_value=0, max_value=2**32))
@settings(max_examples=200)
def test_generated_uins_follow_every_rule(seed: int) -> None:
    uin = UIN_POLICY.generate(random.Random(seed).randrange)
    assert len(uin) == 10
    assert uin[0] not in "01"
    assert verhoeff.is_valid(uin)
    assert UIN_POLICY.violation(uin) is None


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("273456891", "sequence"),  # 3456 ascending
        ("298765412", "sequence"),  # 9876 descending
        ("241158392", "repeated digit"),  # 11
        ("241415839", "repeated digit"),  # 1x1 within distance 2
    ],
)
def test_patterns_are_refused(body: str, why: str) -> None:
    number = body + verhoeff.check_digit(body)
    assert why in str(UIN_POLICY.violation(number))


def test_a_repeated_block_is_refused() -> None:
    policy = NumberPolicy(length=12, block_length=3)
    body = "27495827495"  # 2749 twice, with no run and no digit repeated within 2
    number = body + verhoeff.check_digit(body)
    assert policy.violation(number) == "contains a repeated block of digits"


def test_wrong_check_digit_length_and_leading_digit() -> None:
    good = UIN_POLICY.generate()
    broken = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert UIN_POLICY.violation(broken) == "check digit does not match"
    assert UIN_POLICY.violation(good[:-1]) == "must be 10 digits"
    body = "127495836"
    assert UIN_POLICY.violation(body + verhoeff.check_digit(body)) == "must not start with 0 or 1"


def test_country_excluded_patterns_are_refused_and_never_generated() -> None:
    policy = NumberPolicy(excluded=("^[2-5]",))
    assert all(policy.generate()[0] in "6789" for _ in range(200))
    body = "274958361"
    assert policy.violation(body + verhoeff.check_digit(body)) == (
        "matches a pattern the country excludes"
    )


def test_bad_policies_are_refused() -> None:
    with pytest.raises(InvalidNumberPolicy):
        NumberPolicy(length=4)
    with pytest.raises(InvalidNumberPolicy):
        NumberPolicy(excluded=("([",))
    with pytest.raises(InvalidNumberPolicy):
        NumberPolicy(excluded=(".",)).generate()


def test_a_vid_is_longer_than_a_uin_so_they_never_collide() -> None:
    vid = VID_POLICY.generate()
    assert len(vid) == 16
    assert VID_POLICY.is_valid(vid)
    assert not UIN_POLICY.is_valid(vid)


def test_partner_tokens_are_stable_per_partner_and_unlinkable_across_partners() -> None:
    secret = b"k" * 32
    a1 = partner_token(secret, partner="DEV/COM/BANKA", uin="2749583610")
    a2 = partner_token(secret, partner="DEV/COM/BANKA", uin="2749583610")
    b = partner_token(secret, partner="DEV/COM/BANKB", uin="2749583610")
    other_secret = partner_token(b"j" * 32, partner="DEV/COM/BANKA", uin="2749583610")
    assert a1 == a2
    assert len({a1, b, other_secret}) == 3
    assert "2749583610" not in a1
    assert len(a1) == 43


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        partner_token(b"short", partner="p", uin="1")
