"""A seeded synthetic population with known duplicates, to measure deduplication.

People live in households (a shared family name, address and often one phone; children born to
the adults; some twins - same household, family name and date of birth, different given names,
who must *not* be matched). Seven cultures write names in Latin, Cyrillic, Greek and Arabic
script. A share of people are registered more than once, each extra record with the errors real
registers show, drawn independently:

- typos (a letter deleted, doubled, swapped with its neighbour or replaced), a nickname, another
  Latin spelling (*Mohammed*/*Muhammad*) or another romanisation of a Cyrillic or Greek name
  (passport, French, German, phonetic schemes) or the name in its own script;
- given and family names swapped; other names dropped;
- day and month swapped, one part of the date wrong, only the year, no date;
- a new address (often nearby), a new or mistyped phone, missing sex or phone.

The same seed gives the same population. ``person_of`` is the truth: record id to person id.
"""

# ruff: noqa: RUF001 - romanisation tables are made of look-alike letters on purpose
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from baobab.identity.matching.names import normalise_name
from baobab.identity.matching.nicknames import NICKNAMES
from baobab.identity.matching.population_names import CULTURES, Culture
from baobab.identity.matching.records import PersonRecord
from baobab.identity.matching.similarity import within_one_edit

__all__ = ["SyntheticPopulation", "generate_population"]

_EXTRA_RECORDS = (1, 1, 1, 1, 2)  # a duplicated person has one more record, sometimes two
_ROMANISATION = {
    "cyrillic": {
        "passport": {"х": "kh", "й": "i", "я": "ia", "ю": "iu", "ж": "zh", "ц": "ts", "щ": "shch"},
        "french": {
            "х": "kh", "й": "i", "у": "ou", "ж": "j", "ш": "ch", "ч": "tch", "щ": "chtch",
            "я": "ia", "ю": "iou", "ц": "ts",
        },
        "german": {
            "х": "ch", "й": "j", "ж": "sch", "ш": "sch", "ч": "tsch", "ц": "z", "в": "w",
            "я": "ja", "ю": "ju", "щ": "schtsch",
        },
    },
    "greek": {
        "phonetic": {"η": "i", "υ": "i", "ει": "i", "οι": "i", "αι": "e", "μπ": "b", "ντ": "d"},
        "traditional": {"η": "e", "β": "b", "χ": "kh", "φ": "ph", "ου": "ou"},
    },
}  # fmt: skip
_NICKNAMES_OF: dict[str, list[str]] = {}
for _short, _fulls in NICKNAMES.items():
    for _full in _fulls:
        _NICKNAMES_OF.setdefault(_full, []).append(_short)
_LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class SyntheticPopulation:
    """Records with the truth: who each record is, and which first records are twins."""

    records: tuple[PersonRecord, ...]
    person_of: Mapping[str, str]
    twins: tuple[tuple[str, str], ...] = field(default=())

    def duplicate_pairs(self) -> set[tuple[str, str]]:
        """Every pair of record ids (sorted) that are the same person."""
        by_person: dict[str, list[str]] = {}
        for record_id, person in self.person_of.items():
            by_person.setdefault(person, []).append(record_id)
        pairs: set[tuple[str, str]] = set()
        for ids in by_person.values():
            ordered = sorted(ids)
            for index, left in enumerate(ordered):
                pairs.update((left, right) for right in ordered[index + 1 :])
        return pairs


@dataclass
class _Person:
    person_id: str
    culture: Culture
    given: str
    family: str
    other: str | None
    birth: tuple[int, int, int]
    sex: str
    location: str
    phone: str | None


class _Generator:
    def __init__(self, seed: int, locations: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
        self.locations = [
            f"R{region:02d}-D{district:03d}-V{village:04d}"
            for region in range(1, 9)
            for district in range(1, 11)
            for village in range(1, max(locations // 80, 1) + 1)
        ]
        self.cultures = list(CULTURES)
        self.culture_weights = [culture.weight for culture in CULTURES]

    def pick(self, names: tuple[str, ...]) -> str:
        # Zipf-like: the first names of each pool are the most common.
        index = min(int(self.rng.paretovariate(1.2)) - 1, len(names) - 1)
        return names[index] if self.rng.random() < 0.5 else self.rng.choice(names)

    def phone(self) -> str:
        return f"+2547{self.rng.randrange(10**8):08d}"

    def birth(self, low: int, high: int) -> tuple[int, int, int]:
        return (self.rng.randint(low, high), self.rng.randint(1, 12), self.rng.randint(1, 28))

    def other_names(self, culture: Culture, sex: str, father: str | None) -> str | None:
        kind = culture.other_names
        rng = self.rng
        if kind == "middle":
            return (
                self.pick(culture.male if sex == "M" else culture.female)
                if rng.random() < 0.5
                else None
            )
        if kind == "second_family":
            return self.pick(culture.family)
        if kind in ("father", "patronymic"):
            base = father or self.pick(culture.male)
            if kind == "patronymic":
                stem = base[:-1] if base.endswith(("й", "ь")) else base
                return stem + ("ович" if sex == "M" else "овна")
            return base
        return None

    def household(self, next_id: int) -> list[_Person]:
        rng = self.rng
        culture = rng.choices(self.cultures, self.culture_weights)[0]
        family = self.pick(culture.family)
        location = rng.choice(self.locations)
        shared_phone = self.phone() if rng.random() < 0.7 else None
        size = rng.choices((1, 2, 3, 4, 5, 6), (20, 20, 20, 20, 10, 10))[0]
        people: list[_Person] = []
        head_sex = rng.choice("MF")
        head_given = self.pick(culture.male if head_sex == "M" else culture.female)
        head_birth = self.birth(1945, 2002)

        def person(given: str, sex: str, birth: tuple[int, int, int], father: str | None) -> None:
            own_phone = self.phone() if rng.random() < 0.3 else shared_phone
            people.append(
                _Person(
                    person_id=f"H{next_id}-{len(people)}",
                    culture=culture,
                    given=given,
                    family=family,
                    other=self.other_names(culture, sex, father),
                    birth=birth,
                    sex=sex,
                    location=location,
                    phone=own_phone if rng.random() < 0.85 else None,
                )
            )

        person(head_given, head_sex, head_birth, None)
        if size >= 2:
            sex = "F" if head_sex == "M" else "M"
            person(
                self.pick(culture.male if sex == "M" else culture.female),
                sex,
                self.birth(head_birth[0] - 6, head_birth[0] + 6),
                None,
            )
        father = head_given if head_sex == "M" else (people[1].given if size >= 2 else None)
        while len(people) < size:
            birth = self.birth(head_birth[0] + 18, min(head_birth[0] + 42, 2024))
            sex = rng.choice("MF")
            given = self.pick(culture.male if sex == "M" else culture.female)
            person(given, sex, birth, father)
            if len(people) < size and rng.random() < 0.06:  # twins
                twin_sex = rng.choice("MF")
                pool = culture.male if twin_sex == "M" else culture.female
                others = [n for n in pool if n != given and not within_one_edit(n, given)]
                person(rng.choice(others), twin_sex, birth, father)
                people[-1].person_id += "T"
                people[-2].person_id += "T"
        return people


def _romanise(rng: random.Random, culture: Culture, name: str) -> str:
    """The name as a clerk may write it: its own script or one of several Latin spellings."""
    spellings = culture.spellings.get(name)
    if spellings and rng.random() < 0.7:
        return (
            rng.choice((name, *spellings)) if culture.script == "latin" else rng.choice(spellings)
        )
    schemes = _ROMANISATION.get(culture.script)
    if schemes is None or rng.random() < 0.4:
        return name
    scheme = rng.choice([None, *schemes.values()])
    text = name.lower()
    if scheme is not None:
        for letters, latin in sorted(scheme.items(), key=lambda item: -len(item[0])):
            text = text.replace(letters, latin)
    latin = normalise_name(text)  # romanised letters pass through; the rest use the tables
    return latin[:1].upper() + latin[1:]


def _typo(rng: random.Random, text: str) -> str:
    """One keying error: a letter deleted, doubled, swapped with the next or replaced."""
    if len(text) < 3:
        return text
    index = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:index] + text[index + 1 :]
    if kind == 1:
        return text[:index] + text[index] + text[index:]
    if kind == 2:
        return text[:index] + text[index + 1] + text[index] + text[index + 2 :]
    letters = _LATIN_LETTERS if text.isascii() else text
    return text[:index] + rng.choice(letters) + text[index + 1 :]


def _nickname(rng: random.Random, culture: Culture, given: str) -> str | None:
    latin = normalise_name(given)
    options = _NICKNAMES_OF.get(latin)
    if not options:
        return None
    nickname = rng.choice(options)
    return nickname[:1].upper() + nickname[1:]


def _render_date(birth: tuple[int, int, int], precision: str) -> str | None:
    year, month, day = birth
    if precision == "none":
        return None
    if precision == "year":
        return f"{year:04d}"
    if precision == "month":
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


class _Recorder:
    """Writes records of people: clean first records and corrupted duplicates."""

    def __init__(self, rng: random.Random, locations: list[str]) -> None:
        self.rng = rng
        self.locations = locations

    def first(self, person: _Person) -> dict[str, str | None]:
        rng = self.rng
        precision = rng.choices(("day", "month", "year"), (94, 2, 4))[0]
        return {
            "given_name": _romanise(rng, person.culture, person.given),
            "family_name": _romanise(rng, person.culture, person.family),
            "other_names": (_romanise(rng, person.culture, person.other) if person.other else None),
            "birth_date": _render_date(person.birth, precision),
            "sex": person.sex if rng.random() > 0.02 else None,
            "location": person.location,
            "phone": person.phone,
        }

    def duplicate(self, person: _Person) -> dict[str, str | None]:
        rng = self.rng
        fields = self.first(person)
        given, family = fields["given_name"], fields["family_name"]
        if rng.random() < 0.10 and (nickname := _nickname(rng, person.culture, person.given)):
            given = nickname
        if given and rng.random() < 0.12:
            given = _typo(rng, given)
        if family and rng.random() < 0.10:
            family = _typo(rng, family)
        if rng.random() < 0.05:
            given, family = family, given
        fields["given_name"], fields["family_name"] = given, family
        if fields["other_names"] and rng.random() < 0.3:
            fields["other_names"] = None
        fields["birth_date"] = self._date_error(person.birth, fields["birth_date"])
        if rng.random() < 0.03:
            fields["sex"] = None
        roll = rng.random()
        if roll < 0.08:  # moved nearby: same district
            district = person.location.rsplit("-", 1)[0]
            nearby = [code for code in self.locations if code.startswith(district)]
            fields["location"] = rng.choice(nearby)
        elif roll < 0.15:
            fields["location"] = rng.choice(self.locations)
        elif roll < 0.18:
            fields["location"] = None
        roll = rng.random()
        if roll < 0.15:
            fields["phone"] = None
        elif roll < 0.25:
            fields["phone"] = f"+2547{rng.randrange(10**8):08d}"
        elif roll < 0.28 and fields["phone"]:
            fields["phone"] = _typo(rng, fields["phone"])
        return fields

    def _date_error(self, birth: tuple[int, int, int], written: str | None) -> str | None:
        rng = self.rng
        year, month, day = birth
        roll = rng.random()
        if roll < 0.05 and day <= 12:
            return f"{year:04d}-{day:02d}-{month:02d}"
        if roll < 0.10:
            part = rng.randrange(3)
            if part == 0:
                year += rng.choice((-1, 1))
            elif part == 1:
                month = month % 12 + 1
            else:
                day = day % 28 + 1
            return f"{year:04d}-{month:02d}-{day:02d}"
        if roll < 0.14:
            return f"{year:04d}"
        if roll < 0.17:
            return None
        return written


def generate_population(
    size: int, *, seed: int = 0, duplicate_share: float = 0.2
) -> SyntheticPopulation:
    """About ``size`` records: people in households, ``duplicate_share`` of them registered again
    (once, sometimes twice) with realistic errors; shuffled, with ids ``R0000001``..."""
    if size < 1:
        raise ValueError("size must be positive")
    generator = _Generator(seed, locations=max(size // 400, 80))
    rng = generator.rng
    people_wanted = round(size / (1 + duplicate_share * 1.2))
    people: list[_Person] = []
    while len(people) < people_wanted:
        people.extend(generator.household(len(people)))
    recorder = _Recorder(rng, generator.locations)
    rows: list[tuple[str, dict[str, str | None]]] = []
    for person in people:
        rows.append((person.person_id, recorder.first(person)))
        if rng.random() < duplicate_share:
            for _ in range(rng.choice(_EXTRA_RECORDS)):
                rows.append((person.person_id, recorder.duplicate(person)))
    rng.shuffle(rows)
    records: list[PersonRecord] = []
    person_of: dict[str, str] = {}
    first_record: dict[str, str] = {}
    for number, (person_id, fields) in enumerate(rows, start=1):
        record_id = f"R{number:07d}"
        records.append(PersonRecord(record_id=record_id, **fields))
        person_of[record_id] = person_id
        first_record.setdefault(person_id, record_id)
    twins: list[tuple[str, str]] = []
    for index, person in enumerate(people[1:], start=1):
        before = people[index - 1]
        if (
            person.person_id.endswith("T")
            and before.person_id.endswith("T")
            and (before.birth, before.family) == (person.birth, person.family)
        ):
            twins.append((first_record[before.person_id], first_record[person.person_id]))
    return SyntheticPopulation(tuple(records), person_of, tuple(twins))
