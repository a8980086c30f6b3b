"""The example schemas shipped with Baobab and a seeded generator of synthetic households.

``social-registry`` (households and their members) and ``beneficiary-registry`` are what the
cash-transfer programme builds on; the generator feeds the demo, the tests and the benchmark.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

EXAMPLES = ("social-registry", "beneficiary-registry")

_REGIONS = {
    "North": ["Kaskazi", "Milima", "Ziwani"],
    "South": ["Pwani", "Mto", "Bonde"],
    "East": ["Mashariki", "Jua", "Bahari"],
    "West": ["Magharibi", "Msitu", "Savana"],
    "Central": ["Kati", "Mji", "Tambarare"],
}
_GIVEN = [
    "Amina",
    "Baraka",
    "Chausiku",
    "Daudi",
    "Eshe",
    "Faraji",
    "Gathoni",
    "Hamisi",
    "Imani",
    "Jabari",
    "Kesi",
    "Lulu",
    "Mosi",
    "Neema",
    "Omari",
    "Pendo",
    "Rehema",
    "Sefu",
    "Tumaini",
    "Upendo",
    "Wanjiru",
    "Zawadi",
]
_FAMILY = [
    "Okoro",
    "Mwangi",
    "Njeri",
    "Otieno",
    "Achieng",
    "Kamau",
    "Wafula",
    "Mutua",
    "Chebet",
    "Kiprono",
    "Nyambura",
    "Odhiambo",
]


def example_schema(name: str) -> dict[str, Any]:
    """The shipped JSON Schema ``name`` (one of :data:`EXAMPLES`)."""
    if name not in EXAMPLES:
        raise KeyError(f"no example schema {name!r}; examples: {', '.join(EXAMPLES)}")
    text = (files("baobab.registries") / "schemas" / f"{name}.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def households(count: int, *, seed: int = 7, start: int = 1) -> Iterator[dict[str, Any]]:
    """``count`` synthetic households for the social registry, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, nothing secret
    regions = list(_REGIONS)
    for number in range(start, start + count):
        region = rng.choice(regions)
        district = rng.choice(_REGIONS[region])
        size = rng.randint(1, 8)
        family = rng.choice(_FAMILY)
        head = f"{rng.choice(_GIVEN)} {family}"
        members: list[dict[str, Any]] = [
            {
                "name": head if i == 0 else f"{rng.choice(_GIVEN)} {family}",
                "birth_year": rng.randint(1950, 2000) if i == 0 else rng.randint(1950, 2025),
                "sex": rng.choice(("F", "M")),
                "relation": "head"
                if i == 0
                else rng.choice(("spouse", "child", "child", "parent")),
            }
            for i in range(size)
        ]
        yield {
            "household_id": f"HH-{number:08d}",
            "head_name": head,
            "head_identity": f"tok{number:010d}{rng.randrange(16**6):06x}",
            "phone": f"+2557{rng.randrange(10**8):08d}",
            "region": region,
            "district": district,
            "village": f"{district}-{rng.randint(1, 40):02d}",
            "location": {
                "lat": round(rng.uniform(-11, -1), 5),
                "lon": round(rng.uniform(29, 40), 5),
            },
            "size": size,
            "members": members,
            "vulnerability": {
                "female_headed": members[0]["sex"] == "F",
                "elderly_members": sum(1 for m in members if m["birth_year"] < 1966),
                "dwelling": rng.choice(("permanent", "semi-permanent", "temporary")),
                "food_insecure": rng.random() < 0.3,
            },
            "poverty_score": round(rng.uniform(0, 100), 1),
            "registered_on": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        }
