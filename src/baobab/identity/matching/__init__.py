"""Probabilistic demographic deduplication: is this person already registered?

A Fellegi-Sunter model over normalised, transliterated, phonetic and nickname-aware names, partial
and swapped dates of birth, sex, location and phone; blocking so a search costs what its
candidates cost; three outcomes with per-country thresholds. Pure Python, standard library only.
See ``docs/dedup.md`` for the method and its measured quality.

Typical use::

    engine = DedupEngine(MatchModel.default(), DEFAULT_THRESHOLDS)
    engine.add(PersonRecord("r1", "Amina", "Odhiambo", birth_date="1990-03-07"))
    engine.find(PersonRecord("q", "Amina", "Odiambo", birth_date="1990-07-03"))
"""

from baobab.identity.matching.engine import Candidate, DedupEngine, DuplicateRecordId, deduplicate
from baobab.identity.matching.model import (
    DEFAULT_THRESHOLDS,
    InvalidModel,
    LevelProbabilities,
    MatchModel,
    Outcome,
    Thresholds,
)
from baobab.identity.matching.records import PersonRecord

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Candidate",
    "DedupEngine",
    "DuplicateRecordId",
    "InvalidModel",
    "LevelProbabilities",
    "MatchModel",
    "Outcome",
    "PersonRecord",
    "Thresholds",
    "deduplicate",
]
