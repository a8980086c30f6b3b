from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from baobab.identity import ImpossibleDate, Profile, ProfileCatalogue, SchemaViolation, UnknownField
from baobab.identity.errors import InvalidProfile, UnknownProfile
from baobab.identity.schema import parse_partial_date
from tests.unit.identity.world import person

TODAY = date(2026, 1, 15)


@pytest.fixture
def profiles() -> ProfileCatalogue:
    return ProfileCatalogue.shipped(active="example-a")


def test_two_countries_ship_and_a_profile_change_is_a_new_version(
    profiles: ProfileCatalogue,
) -> None:
    assert [p.ref for p in profiles.all()] == ["example-a@1", "example-a@2", "example-b@1"]
    assert profiles.active.ref == "example-a@2"
    assert "email" not in profiles.get("example-a@1").fields
    assert profiles.get("example-a@2").fields["email"].otp_channel == "email"
    assert ProfileCatalogue.shipped(active="example-a@1").active.ref == "example-a@1"
    with pytest.raises(UnknownProfile):
        ProfileCatalogue.shipped(active="atlantis")


def test_field_tags_drive_required_matching_and_kyc(profiles: ProfileCatalogue) -> None:
    a = profiles.active
    assert set(a.tagged("required")) == {
        "given_name",
        "family_name",
        "birth_date",
        "sex",
        "address",
    }
    assert "phone" in a.tagged("used-for-matching")
    assert "photo_ref" in a.kyc_shareable
    assert "photo_ref" not in a.tagged("used-for-matching")
    assert a.otp_fields() == {"sms": "phone", "email": "email"}
    assert a.uin_policy.length == 10
    assert profiles.get("example-b@1").uin_policy.length == 12


@pytest.mark.parametrize(
    "demographics",
    [
        person(),
        person(birth_date="1990"),  # only the year is known
        person(birth_date="1990-04"),
        person(given="أمينة", family="ديالو"),  # Arabic script
        person(given="Амина", family="Диалло"),  # Cyrillic
        person(given="阿米娜", family="迪亚洛"),  # Han
        person(phone="+2348012345678", email="amina@example.org"),
    ],
)
def test_inclusive_demographics_pass(
    profiles: ProfileCatalogue, demographics: dict[str, Any]
) -> None:
    profiles.active.check(demographics, today=TODAY)


def test_without_phone_and_with_year_only_under_the_other_country() -> None:
    b = ProfileCatalogue.shipped(active="example-b").active
    b.check(
        {
            "first_name": "Ngʼendo",  # noqa: RUF001
            "year_or_date_of_birth": "1961",
            "gender": "X",
            "residence": {"province": "East", "commune": "Ruhango"},
        },
        today=TODAY,
    )


@pytest.mark.parametrize("value", ["1990-02-30", "1990-13", "1849", "90-01-01", "1990/01/01"])
def test_impossible_dates_are_refused(profiles: ProfileCatalogue, value: str) -> None:
    with pytest.raises(ImpossibleDate):
        profiles.active.check(person(birth_date=value), today=TODAY)


def test_a_birth_date_in_the_future_is_impossible(profiles: ProfileCatalogue) -> None:
    with pytest.raises(ImpossibleDate, match="future"):
        profiles.active.check(person(birth_date="2026-01-16"), today=TODAY)
    profiles.active.check(person(birth_date="2026-01"), today=TODAY)  # this month may be today


def test_unknown_fields_are_named(profiles: ProfileCatalogue) -> None:
    with pytest.raises(UnknownField) as caught:
        profiles.active.check(person(religion="x", tribe="y"), today=TODAY)
    assert caught.value.extra == {"fields": ["religion", "tribe"]}


def test_schema_violations_are_listed(profiles: ProfileCatalogue) -> None:
    demographics = person(sex="f", phone="0801")
    del demographics["family_name"]
    with pytest.raises(SchemaViolation) as caught:
        profiles.active.check(demographics, today=TODAY)
    fields = {v["field"] for v in caught.value.extra["violations"]}
    assert fields == {"demographics", "sex", "phone"}
    assert caught.value.code == "identity.schema_violation"


def test_matching_view_flattens_to_the_matchers_fields(profiles: ProfileCatalogue) -> None:
    view = profiles.active.matching_view(person(phone="+2348012345678", photo_ref="doc/1"))
    assert view == {
        "given_name": "Amina",
        "family_name": "Diallo",
        "birth_date": "1990-04-12",
        "sex": "female",
        "location": "North/Kano/Dala",
        "phone": "+2348012345678",
    }


def _profile(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "x-profile": {"name": "t", "version": 1},
        "type": "object",
        "properties": {"n": {"type": "string", "x-tags": ["required"]}},
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    "doc",
    [
        _profile(**{"x-profile": {"name": "T!", "version": 1}}),
        _profile(**{"x-profile": {"name": "t", "version": 0}}),
        _profile(required=["n"]),
        _profile(properties={"n": {"type": "string", "x-tags": ["secret"]}}),
        _profile(properties={"n": {"type": "string", "x-tags": ["used-for-matching"]}}),
        _profile(
            properties={
                "n": {"type": "string", "x-match-as": "shoe_size", "x-tags": ["used-for-matching"]}
            }
        ),
        _profile(properties={"n": {"type": "strin"}}),
        _profile(properties={"n": {"type": "string", "x-otp-channel": "pigeon"}}),
    ],
)
def test_bad_profiles_are_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidProfile):
        Profile(doc)


def test_partial_dates() -> None:
    assert parse_partial_date("1990") == (1990, None, None)
    assert parse_partial_date("1990-02") == (1990, 2, None)
    assert parse_partial_date("2000-02-29") == (2000, 2, 29)
    assert parse_partial_date("1900-02-29") is None
