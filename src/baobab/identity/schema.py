"""The ID schema profile: a country's JSON Schema (2020-12) for demographics, with field tags.

A profile is one JSON document. Its top-level ``x-profile`` names it
(``{"name": "example-a", "version": 2, "country": "...", "uin": {...}}``); each top-level
property carries ``x-tags``, a list of:

- ``required``          the field must be present (the profile's JSON Schema ``required`` list is
                        derived from these tags, so the two can never disagree)
- ``personal``          personal data: encrypted at rest, never logged, shown only to the rightful
- ``kyc-shareable``     may be released in eKYC, if the partner's policy and the consent allow
- ``used-for-matching`` read by deduplication; ``x-match-as`` names the matcher's field
                        (``given_name``, ``family_name``, ``other_names``, ``birth_date``, ``sex``,
                        ``location``, ``phone``)

and may carry ``x-otp-channel`` (``sms`` or ``email``): where one-time passwords go.
Properties outside the schema are refused (``additionalProperties`` is forced to false).
A field with ``"format": "partial-date"`` holds ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``: a
person who knows only the year of birth enrols with the year. A change of profile is a new
version of the file; an identity records the version its attributes were last checked against.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from baobab.identity.errors import (
    ImpossibleDate,
    InvalidProfile,
    SchemaViolation,
    UnknownField,
    UnknownProfile,
)
from baobab.identity.numbers import NumberPolicy

TAGS = frozenset({"required", "personal", "kyc-shareable", "used-for-matching"})
MATCH_FIELDS = frozenset(
    {"given_name", "family_name", "other_names", "birth_date", "sex", "location", "phone"}
)
OTP_CHANNELS = frozenset({"sms", "email"})
_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def parse_partial_date(text: str) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; None if it cannot be."""
    m = _PARTIAL_DATE.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        return None
    year = int(m[1])
    month = int(m[2]) if m[2] else None
    day = int(m[3]) if m[3] else None
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        return None
    if year < 1850:
        return None
    return year, month, day


_FORMATS = FormatChecker()
_FORMATS.checks("partial-date")(
    lambda value: not isinstance(value, str) or bool(parse_partial_date(value))
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    tags: frozenset[str]
    match_as: str | None
    otp_channel: str | None
    partial_date: bool


class Profile:
    """One version of a country's ID schema, compiled once."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if not isinstance(document, Mapping):
            raise InvalidProfile("a profile is a JSON object")
        meta = document.get("x-profile")
        if not isinstance(meta, Mapping):
            raise InvalidProfile("a profile names itself in x-profile")
        name, version = meta.get("name"), meta.get("version")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidProfile("x-profile.name is 1-64 lower-case letters, digits or '-'")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InvalidProfile("x-profile.version is a positive integer")
        self.name, self.version = name, version
        self.country = str(meta.get("country", ""))
        uin = meta.get("uin", {})
        try:
            self.uin_policy = NumberPolicy(
                length=int(uin.get("length", 10)), excluded=tuple(uin.get("excluded", ()))
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidProfile("x-profile.uin is {length, excluded: [patterns]}") from exc
        if document.get("type") != "object" or "required" in document:
            raise InvalidProfile(
                'a profile is {"type": "object"}; required fields are tagged, not listed'
            )
        properties = document.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            raise InvalidProfile("a profile has properties")
        self.fields = {n: _field(n, spec) for n, spec in properties.items()}
        schema = dict(document)
        schema["additionalProperties"] = False
        schema["required"] = sorted(n for n, f in self.fields.items() if "required" in f.tags)
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise InvalidProfile(f"not a valid JSON Schema: {exc.message}") from exc
        self.document: dict[str, Any] = json.loads(json.dumps(document))
        self._validator = Draft202012Validator(schema, format_checker=_FORMATS)

    @property
    def ref(self) -> str:
        """``<name>@<version>``, as identities record it."""
        return f"{self.name}@{self.version}"

    def tagged(self, tag: str) -> tuple[str, ...]:
        return tuple(n for n, f in self.fields.items() if tag in f.tags)

    @property
    def kyc_shareable(self) -> frozenset[str]:
        return frozenset(self.tagged("kyc-shareable"))

    def otp_fields(self) -> dict[str, str]:
        """Channel -> field that holds its address."""
        return {f.otp_channel: n for n, f in self.fields.items() if f.otp_channel}

    def check(self, demographics: Mapping[str, Any], *, today: date) -> None:
        """Raise a specific :class:`SchemaViolation` unless ``demographics`` fit the profile."""
        unknown = sorted(set(demographics) - set(self.fields))
        if unknown:
            raise UnknownField(
                f"fields not in profile {self.ref}: {', '.join(unknown)}",
                extra={"fields": unknown},
            )
        errors = sorted(self._validator.iter_errors(dict(demographics)), key=lambda e: e.path)
        dates = [
            e for e in errors if e.validator == "format" and e.validator_value == "partial-date"
        ]
        if dates:
            where = _where(dates[0].absolute_path)
            raise ImpossibleDate(f"{where} is not a date that can be (YYYY, YYYY-MM or YYYY-MM-DD)")
        if errors:
            violations = [
                {"field": _where(e.absolute_path), "message": e.message} for e in errors[:20]
            ]
            raise SchemaViolation(
                f"{len(errors)} violation(s) of profile {self.ref}",
                extra={"violations": violations},
            )
        for name, spec in self.fields.items():
            value = demographics.get(name)
            if spec.partial_date and isinstance(value, str):
                year, month, day = parse_partial_date(value) or (0, None, None)
                if (year, month or 1, day or 1) > (today.year, today.month, today.day):
                    raise ImpossibleDate(f"{name} lies in the future")

    def matching_view(self, attributes: Mapping[str, Any]) -> dict[str, str]:
        """The values deduplication reads, by matcher field name (the minimum it needs)."""
        view: dict[str, str] = {}
        for name, spec in self.fields.items():
            if spec.match_as is None or name not in attributes:
                continue
            value = attributes[name]
            if spec.match_as == "location" and isinstance(value, Mapping):
                # a hierarchy, most general first: "North/Kano/Dala" lets neighbours count as near
                view["location"] = "/".join(str(v) for v in value.values() if v not in (None, ""))
            else:
                view[spec.match_as] = _flatten(value)
        return view


def _field(name: str, spec: Any) -> Field:
    if not isinstance(spec, Mapping):
        raise InvalidProfile(f"property {name} is not a schema object")
    tags = spec.get("x-tags", [])
    if not isinstance(tags, list) or not set(tags) <= TAGS:
        raise InvalidProfile(f"{name}: x-tags is a list drawn from {', '.join(sorted(TAGS))}")
    match_as = spec.get("x-match-as")
    if ("used-for-matching" in tags) != (match_as is not None):
        raise InvalidProfile(f"{name}: used-for-matching and x-match-as go together")
    if match_as is not None and match_as not in MATCH_FIELDS:
        raise InvalidProfile(f"{name}: x-match-as is one of {', '.join(sorted(MATCH_FIELDS))}")
    channel = spec.get("x-otp-channel")
    if channel is not None and channel not in OTP_CHANNELS:
        raise InvalidProfile(f"{name}: x-otp-channel is 'sms' or 'email'")
    return Field(name, frozenset(tags), match_as, channel, spec.get("format") == "partial-date")


def _where(path: Iterable[Any]) -> str:
    return "/".join(str(p) for p in path) or "demographics"


def _flatten(value: Any) -> str:
    """A matcher reads strings: an object (a name in several scripts, an address hierarchy)
    becomes its values joined by spaces, most general first as the profile orders them."""
    if isinstance(value, Mapping):
        return " ".join(_flatten(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value)
    return str(value)


class ProfileCatalogue:
    """Every shipped profile version, and the one this deployment enrols with."""

    def __init__(self, profiles: Sequence[Profile], *, active: str) -> None:
        self._by_ref = {p.ref: p for p in profiles}
        named = [p for p in profiles if active in (p.name, p.ref)]
        if not named:
            raise UnknownProfile(
                f"no profile {active!r}; shipped: {', '.join(sorted(self._by_ref))}"
            )
        self.active = max(named, key=lambda p: p.version)

    @classmethod
    def shipped(cls, *, active: str) -> ProfileCatalogue:
        """The profiles under ``baobab/identity/profiles`` (``<name>.v<version>.json``)."""
        folder = files("baobab.identity") / "profiles"
        documents = [
            json.loads(entry.read_text(encoding="utf-8"))
            for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".json")
        ]
        return cls([Profile(d) for d in documents], active=active)

    def get(self, ref: str) -> Profile:
        try:
            return self._by_ref[ref]
        except KeyError:
            raise UnknownProfile(f"no profile {ref!r}") from None

    def all(self) -> list[Profile]:
        return sorted(self._by_ref.values(), key=lambda p: (p.name, p.version))
